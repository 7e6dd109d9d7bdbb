# Linear probe of a Conditional MAE ViT-S/16 encoder on ImageNet-1K.
_base_ = './vit-b16_in1k_linprobe.py'

model = dict(
    backbone=dict(
        arch='deit-small',
        init_cfg=dict(
            checkpoint='work_dirs/conditional_mae/'
                       'vit-s16_L0-10_in1k_pretrain/epoch_300.pth')),
    neck=dict(input_features=384),
    head=dict(in_channels=384))
