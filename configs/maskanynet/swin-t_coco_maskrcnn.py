# MaskAnyNet Swin-T Mask R-CNN 1x COCO: the recipe of its twin with MaskSwin
# (the reuse image gets a 2-pixel patch embedding) and the masking data
# preprocessor. A worked example of a new backbone in a detection recipe.
_base_ = '../baselines/swin-t_coco_maskrcnn.py'

model = dict(
    data_preprocessor=dict(
        type='mmmaskreuse.MaskReuseDetDataPreprocessor',
        mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                            grid_size=(8, 8))),
    # an ImageNet Swin-T has no reuse patch embedding: it trains
    backbone=dict(type='mmmaskreuse.MaskSwin', freeze_reuse=False))
