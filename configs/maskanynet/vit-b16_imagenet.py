# MaskAnyNet ViT-B/16 on ImageNet: the recipe of baselines/
# vit-b16_imagenet.py; 25 % Combined masks on a 14x14 grid, one cell per
# 16-pixel patch; the reuse image gets an 8-pixel patch embedding. Masking
# follows Mixup/CutMix in the data preprocessor.
_base_ = '../baselines/vit-b16_imagenet.py'

model = dict(backbone=dict(type='mmmaskreuse.MaskViT'))
data_preprocessor = dict(
    type='mmmaskreuse.MaskReuseClsDataPreprocessor',
    mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                        grid_size=(14, 14)))
