# Toy twin of baselines/efficientnetv2-s_imagenet.py at CPU size: the
# ResNet-18 toy recipe (data, SGD schedule, pooling neck) with
# mmpretrain's smallest EfficientNetV2, B0.
_base_ = 'resnet18_toy_cls.py'

model = dict(
    backbone=dict(_delete_=True, type='EfficientNetV2', arch='b0'),
    head=dict(in_channels=1280))
