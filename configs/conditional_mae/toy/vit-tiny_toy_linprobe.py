# Toy linear probe: vit-b16_in1k_linprobe.py's recipe (the cls token through
# a BatchNorm without affine, a linear head, LARS, the encoder frozen) on the
# data and schedule of vit-tiny_toy_finetune.py, CPU-sized, from the encoder
# of vit-tiny_two-shot_toy_pretrain.py.
# Another checkpoint: model.backbone.init_cfg.checkpoint=PATH
_base_ = './vit-tiny_toy_finetune.py'

model = dict(
    backbone=dict(
        frozen_stages=4,
        out_type='cls_token',
        final_norm=True,
        drop_path_rate=0.0),
    neck=dict(_delete_=True, type='ClsBatchNormNeck', input_features=192),
    head=dict(
        _delete_=True,
        type='VisionTransformerClsHead',
        num_classes={{_base_.num_classes}},
        in_channels=192,
        loss=dict(type='CrossEntropyLoss'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.01)]))
# LARS moves each weight by about lr x 0.001 x its norm a step. The real
# probes make 11,000 (ImageNet-100) to 112,000 steps, this one 192: at MAE's
# base lr scaled to batch 64 (0.025) the head stays where it started.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=25.6, weight_decay=0.0, momentum=0.9))
