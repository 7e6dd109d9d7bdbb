# MaskAnyNet UperNet R-50 on CamVid: the recipe of
# baselines/resnet50_camvid_upernet.py with MaskResNetV1c-50 and the
# masking data preprocessor (25 % Combined masks on an 8x8 grid laid over
# each crop), as maskanynet/resnet50_ade20k_upernet.py.
_base_ = '../baselines/resnet50_camvid_upernet.py'

model = dict(
    data_preprocessor=dict(
        type='mmmaskreuse.MaskReuseSegDataPreprocessor',
        mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                            grid_size=(8, 8))),
    # the ImageNet ResNetV1c has no reuse branch: the reuse stem starts
    # from its stem and trains
    backbone=dict(type='mmmaskreuse.MaskResNetV1c', freeze_reuse=False))
