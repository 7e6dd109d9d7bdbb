# Fine-tune a Conditional MAE ViT-L/16 encoder on ImageNet-1K with the
# paper's ViT-L changes (A.1): base lr 1e-3 (x 1024 / 256), layer decay
# 0.75, drop path 0.2.
_base_ = './vit-b16_in1k_finetune.py'

model = dict(
    backbone=dict(
        arch='large',
        drop_path_rate=0.2,
        init_cfg=dict(
            checkpoint='work_dirs/conditional_mae/'
                       'vit-l16_L0-10_in1k_pretrain/epoch_300.pth')),
    head=dict(in_channels=1024))
optim_wrapper = dict(
    optimizer=dict(lr=1e-3 * 1024 / 256),
    paramwise_cfg=dict(layer_decay_rate=0.75))
