# MaskAnyNet twin of baselines/toy/resnet50_voc_fasterrcnn_toy.py (CPU-sized):
# 25 % Combined masks on an 8x8 grid (16-pixel cells on 128x128 images).
_base_ = '../../baselines/toy/resnet50_voc_fasterrcnn_toy.py'

model = dict(
    data_preprocessor=dict(
        type='mmmaskreuse.MaskReuseDetDataPreprocessor',
        mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                            grid_size=(8, 8))),
    backbone=dict(type='mmmaskreuse.MaskResNet'))
