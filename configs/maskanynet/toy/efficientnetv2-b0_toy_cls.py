# MaskAnyNet twin of baselines/toy/efficientnetv2-b0_toy_cls.py: the
# masking and protocol of resnet18_toy_cls.py here, on mmpretrain's
# EfficientNetV2-B0.
_base_ = 'resnet18_toy_cls.py'

model = dict(
    backbone=dict(_delete_=True, type='mmmaskreuse.MaskEfficientNetV2',
                  arch='b0'),
    head=dict(in_channels=1280))
