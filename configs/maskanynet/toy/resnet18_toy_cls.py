# MaskAnyNet twin of baselines/toy/resnet18_toy_cls.py (CPU-sized): 25 %
# Combined masks on an 8x8 grid of 8x8-pixel cells.
_base_ = '../../baselines/toy/resnet18_toy_cls.py'

model = dict(backbone=dict(type='mmmaskreuse.MaskResNet'))
data_preprocessor = dict(
    type='mmmaskreuse.MaskReuseClsDataPreprocessor',
    mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                        grid_size=(8, 8)))
