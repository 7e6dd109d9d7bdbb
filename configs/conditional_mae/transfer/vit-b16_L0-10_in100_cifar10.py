# Fine-tune the Conditional MAE ViT-B/16 of ../vit-b16_L0-10_in100_pretrain.py
# on CIFAR-10 at its own 32 x 32 (the paper's Tab. 5 and A.1): the fine-tune
# recipe of ../vit-b16_in100_finetune.py (100 epochs, AdamW, weight decay
# 0.05, layer decay 0.65, drop path 0.1, 5 warm-up epochs then cosine,
# RandAugment, Mixup, CutMix, label smoothing), batch 512 (8 GPUs x 64),
# lr 1.5e-3 at that batch.
# As in the paper, a 32 x 32 image with 16 x 16 patches is a 2 x 2 grid: four
# patch tokens and the cls token; the 14 x 14 position embedding of the
# pretrain is resized (bicubic) to 2 x 2 when the checkpoint loads.
# mmpretrain's CIFAR10 reads the python version of the dataset
# (data/cifar10/cifar-10-batches-py), never downloads it, and gives RGB
# images: the ImageNet mean and std of the pretrain, no channel swap.
# Another encoder: model.backbone.init_cfg.checkpoint=PATH
_base_ = '../vit-b16_in100_finetune.py'

num_classes = 10
image_size = 32
model = dict(
    backbone=dict(img_size=image_size),
    head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes, to_rgb=False)

train_pipeline = [
    dict(type='RandomResizedCrop', scale=image_size, backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2,
         total_level=10, magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[124, 116, 104], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand',
         min_area_ratio=0.02, max_area_ratio=1 / 3,
         fill_color=[123.675, 116.28, 103.53],
         fill_std=[58.395, 57.12, 57.375]),
    dict(type='PackInputs')
]
test_pipeline = [dict(type='PackInputs')]
cifar = dict(type='CIFAR10', data_root='data/cifar10', download=False)
train_dataloader = dict(
    batch_size=64,
    dataset=dict(_delete_=True, split='train', pipeline=train_pipeline,
                 **cifar))
val_dataloader = dict(
    batch_size=64,
    dataset=dict(_delete_=True, split='test', pipeline=test_pipeline,
                 **cifar))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=1.5e-3))
auto_scale_lr = dict(base_batch_size=512)
