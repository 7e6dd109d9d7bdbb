# Linear probe of a Conditional MAE ViT-L/16 encoder on ImageNet-100.
_base_ = './vit-b16_in100_linprobe.py'

model = dict(
    backbone=dict(
        arch='large',
        frozen_stages=24,
        init_cfg=dict(
            checkpoint='work_dirs/conditional_mae/'
                       'vit-l16_L0-10_in100_pretrain/epoch_300.pth')),
    neck=dict(input_features=1024),
    head=dict(in_channels=1024))
