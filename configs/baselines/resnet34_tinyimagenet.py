# Vanilla twin of maskanynet/resnet34_tinyimagenet.py: the CIFAR-100 recipe
# (CIFAR stem: 64x64 images keep an 8x8 final map) on Tiny-ImageNet-200 in
# class folders: data/tiny-imagenet-200/{train,val}/<wnid>/*.JPEG. The
# official val/ folder is flat; `python tools/misc/prepare_tinyimagenet.py
# data/tiny-imagenet-200` sorts it into class folders.
_base_ = './resnet34_cifar100.py'

num_classes = 200
model = dict(head=dict(num_classes=num_classes))
data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

data_root = 'data/tiny-imagenet-200'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=64, padding=8),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='val',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
