# MaskAnyNet Swin-T Faster R-CNN on VOC07+12: its twin's recipe with MaskSwin
# and the masking data preprocessor.
_base_ = '../baselines/swin-t_voc_fasterrcnn.py'

model = dict(
    data_preprocessor=dict(
        type='mmmaskreuse.MaskReuseDetDataPreprocessor',
        mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                            grid_size=(8, 8))),
    # an ImageNet Swin-T has no reuse patch embedding: it trains
    backbone=dict(type='mmmaskreuse.MaskSwin', freeze_reuse=False))
