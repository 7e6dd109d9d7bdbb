# MaskAnyNet Swin-T on ImageNet: the recipe of baselines/swin-t_imagenet.py;
# 25 % Combined masks on an 8x8 grid; the reuse image gets a 2-pixel patch
# embedding. Masking follows Mixup/CutMix in the data preprocessor.
_base_ = '../baselines/swin-t_imagenet.py'

model = dict(backbone=dict(type='mmmaskreuse.MaskSwin'))
data_preprocessor = dict(
    type='mmmaskreuse.MaskReuseClsDataPreprocessor',
    mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                        grid_size=(8, 8)))
