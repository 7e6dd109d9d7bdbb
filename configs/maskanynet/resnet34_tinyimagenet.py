# MaskAnyNet ResNet-34 on Tiny-ImageNet: the recipe of
# baselines/resnet34_tinyimagenet.py; 25 % Combined masks, 8x8-pixel cells.
_base_ = '../baselines/resnet34_tinyimagenet.py'

model = dict(backbone=dict(type='mmmaskreuse.MaskResNetCIFAR'))
data_preprocessor = dict(
    type='mmmaskreuse.MaskReuseClsDataPreprocessor',
    mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                        grid_size=(8, 8)))
