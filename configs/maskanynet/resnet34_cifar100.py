# MaskAnyNet ResNet-34 on CIFAR-100: the recipe of
# baselines/resnet34_cifar100.py; Combined (Patch or Grid) masks of 25 % on
# an 8x8 grid of 4x4-pixel cells, feature-level fusion after the stem.
_base_ = '../baselines/resnet34_cifar100.py'

model = dict(backbone=dict(type='mmmaskreuse.MaskResNetCIFAR'))
data_preprocessor = dict(
    type='mmmaskreuse.MaskReuseClsDataPreprocessor',
    mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                        grid_size=(8, 8)))
