# CIFAR-10 as the MaskAnyNet authors' code trains it, the full-size form of
# the CPU A/B (cpu/resnet18-w16_cifar10.py): the CIFAR-10 folders and
# schedule of resnet18_cifar10.py (SGD lr 0.1, 200 epochs, 8 GPUs x 16)
# upsampled to 224 px, and mmpretrain's standard ResNet-34 (7x7 stem,
# max-pool) as in resnet34_cifar100_224px.py. Vanilla twin of
# maskanynet/resnet34_cifar10_224px.py.
_base_ = './resnet18_cifar10.py'

model = dict(
    backbone=dict(_delete_=True, type='ResNet', depth=34, num_stages=4,
                  out_indices=(3, ), style='pytorch'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=32, padding=4),
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
