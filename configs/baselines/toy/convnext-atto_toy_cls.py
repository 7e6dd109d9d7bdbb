# Toy twin of baselines/convnext-t_imagenet.py at CPU size: the ResNet-18
# toy recipe (data, SGD schedule) with mmpretrain's ConvNeXt-atto, which
# pools and norms its last map itself (no neck).
_base_ = 'resnet18_toy_cls.py'

model = dict(
    backbone=dict(_delete_=True, type='ConvNeXt', arch='atto'),
    neck=None,
    head=dict(in_channels=320))
