# vit-b16_L0-10_in100_cifar10.py's recipe on Tiny-ImageNet-200 at its own
# 64 x 64 (a 4 x 4 token grid), batch 512, lr 1.5e-3 (the paper's A.1).
# Class folders data/tiny-imagenet-200/{train,val}/<wnid>/*.JPEG: the
# official val/ is flat, `python tools/misc/prepare_tinyimagenet.py
# data/tiny-imagenet-200` sorts it.
_base_ = './vit-b16_L0-10_in100_cifar10.py'

num_classes = 200
image_size = 64
model = dict(
    backbone=dict(img_size=image_size),
    head=dict(num_classes=num_classes))
# images are read from files (BGR): swap to the pretrain's RGB
data_preprocessor = dict(num_classes=num_classes, to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=image_size, backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2,
         total_level=10, magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand',
         min_area_ratio=0.02, max_area_ratio=1 / 3,
         fill_color=[103.53, 116.28, 123.675],
         fill_std=[57.375, 57.12, 58.395]),
    dict(type='PackInputs')
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
tiny = dict(type='CustomDataset', data_root='data/tiny-imagenet-200')
train_dataloader = dict(
    dataset=dict(_delete_=True, data_prefix='train',
                 pipeline=train_pipeline, **tiny))
val_dataloader = dict(
    dataset=dict(_delete_=True, data_prefix='val', pipeline=test_pipeline,
                 **tiny))
test_dataloader = val_dataloader
