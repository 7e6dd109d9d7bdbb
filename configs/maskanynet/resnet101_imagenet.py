# MaskAnyNet ResNet-101 on ImageNet: resnet50_imagenet.py at depth 101, the
# recipe of baselines/resnet101_imagenet.py.
_base_ = './resnet50_imagenet.py'
model = dict(backbone=dict(depth=101))
