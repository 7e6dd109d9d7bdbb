# MaskAnyNet twin of baselines/toy/convnext-atto_toy_cls.py: the masking
# and protocol of resnet18_toy_cls.py here, on mmpretrain's ConvNeXt-atto
# (no neck: it pools and norms its last map itself).
_base_ = 'resnet18_toy_cls.py'

model = dict(
    backbone=dict(_delete_=True, type='mmmaskreuse.MaskConvNeXt',
                  arch='atto'),
    neck=None,
    head=dict(in_channels=320))
