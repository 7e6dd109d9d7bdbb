# Fine-tune a Conditional MAE ViT-S/16 encoder on ImageNet-100.
_base_ = './vit-b16_in100_finetune.py'

model = dict(
    backbone=dict(
        arch='deit-small',
        init_cfg=dict(
            checkpoint='work_dirs/conditional_mae/'
                       'vit-s16_L0-10_in100_pretrain/epoch_300.pth')),
    head=dict(in_channels=384))
