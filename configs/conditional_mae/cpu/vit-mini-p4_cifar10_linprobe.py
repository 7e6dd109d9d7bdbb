# Linear probe of a CPU CIFAR-10 pretrain: vit-b16_in1k_linprobe.py's
# recipe (the cls token through a BatchNorm without affine, a linear head,
# LARS, the encoder frozen) on the data and schedule of
# vit-mini-p4_cifar10_finetune.py. The two-shot encoder:
# --cfg-options model.backbone.init_cfg.checkpoint=PATH
# Full size: vit-b16_in1k_linprobe.py (90 epochs, 8 GPUs).
_base_ = './vit-mini-p4_cifar10_finetune.py'

model = dict(
    backbone=dict(
        frozen_stages=8,
        out_type='cls_token',
        final_norm=True,
        drop_path_rate=0.0),
    neck=dict(_delete_=True, type='ClsBatchNormNeck', input_features=128),
    head=dict(
        _delete_=True,
        type='VisionTransformerClsHead',
        num_classes={{_base_.num_classes}},
        in_channels=128,
        loss=dict(type='CrossEntropyLoss'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.01)]))
# LARS moves each weight by about lr x 0.001 x its norm a step; 585 steps
# here against 112,000 in the ImageNet probe, so MAE's base lr (0.1 x 128 /
# 256) is raised as the toy probe's is (vit-tiny_toy_linprobe.py); not tuned
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=12.8, weight_decay=0.0, momentum=0.9))
