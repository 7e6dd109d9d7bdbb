# MaskAnyNet twin of baselines/toy/efficientnetv2-b0_toy_cls.py: the
# masking and protocol of resnet18_toy_cls.py here, on mmpretrain's
# EfficientNetV2-B0 with its twin's AdamW.
_base_ = 'resnet18_toy_cls.py'

model = dict(
    backbone=dict(_delete_=True, type='mmmaskreuse.MaskEfficientNetV2',
                  arch='b0'),
    head=dict(in_channels=1280))
optim_wrapper = dict(optimizer=dict(
    _delete_=True, type='AdamW', lr=2e-3, weight_decay=0.05))
