# MaskAnyNet ResNet-50 on ImageNet: the recipe of baselines/
# resnet50_imagenet.py; 25 % Combined masks on an 8x8 grid (28-pixel cells).
_base_ = '../baselines/resnet50_imagenet.py'

model = dict(backbone=dict(type='mmmaskreuse.MaskResNet'))
data_preprocessor = dict(
    type='mmmaskreuse.MaskReuseClsDataPreprocessor',
    mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                        grid_size=(8, 8)))
