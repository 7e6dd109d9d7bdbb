# MaskAnyNet UperNet R-50 on ADE20K (512x512 crops, 160k iterations):
# mmseg's recipe with MaskResNetV1c-50 and the masking data preprocessor,
# nothing else changed. 25 % Combined masks on an 8x8 grid laid over each
# crop (never over the padding).
_base_ = 'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

model = dict(
    data_preprocessor=dict(
        type='mmmaskreuse.MaskReuseSegDataPreprocessor',
        mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                            grid_size=(8, 8))),
    # the ImageNet ResNetV1c has no reuse branch: the reuse stem starts
    # from its stem and trains
    backbone=dict(type='mmmaskreuse.MaskResNetV1c', freeze_reuse=False))
