# Fine-tune the Conditional MAE ViT-B/16 of ../vit-b16_L0-10_in100_pretrain.py
# on DTD (47 textures) at 448 x 448 (the paper's Tab. 5 and A.1): the
# fine-tune recipe of ../vit-b16_in100_finetune.py with batch 16 (8 GPUs x
# 2), lr 2.5e-3 at that batch; tested on a 448 centre crop of the image
# resized to 512 on its short side (ImageNet's 224 / 256). mmpretrain's DTD:
# data/dtd/{images,imdb/imdb.mat}, split 1's train + val against its test.
# The 14 x 14 position embedding is resized to 28 x 28 when it loads.
# Another encoder: model.backbone.init_cfg.checkpoint=PATH
_base_ = '../vit-b16_in100_finetune.py'

num_classes = 47
image_size = 448
model = dict(
    backbone=dict(img_size=image_size),
    head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes)

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
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=512, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=image_size),
    dict(type='PackInputs')
]
dtd = dict(type='DTD', data_root='data/dtd')
train_dataloader = dict(
    batch_size=2,
    dataset=dict(_delete_=True, split='trainval', pipeline=train_pipeline,
                 **dtd))
val_dataloader = dict(
    batch_size=8,
    dataset=dict(_delete_=True, split='test', pipeline=test_pipeline,
                 **dtd))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=2.5e-3))
auto_scale_lr = dict(base_batch_size=16)
