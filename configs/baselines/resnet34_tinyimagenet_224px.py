# Vanilla twin of maskanynet/resnet34_tinyimagenet_224px.py: Tiny-ImageNet
# as the MaskAnyNet authors' code trains it: images upsampled to 224 px and
# mmpretrain's standard ResNet-34 (7x7 stem and max-pool); the schedule of
# resnet34_tinyimagenet.py (64 px, CIFAR stem), its other reading.
_base_ = './resnet34_tinyimagenet.py'

model = dict(
    backbone=dict(_delete_=True, type='ResNet', depth=34, num_stages=4,
                  out_indices=(3, ), style='pytorch'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=64, padding=8),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='Resize', scale=(224, 224)),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(224, 224)),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
