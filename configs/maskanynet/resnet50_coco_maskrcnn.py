# MaskAnyNet Mask R-CNN R-50 FPN 1x COCO: mmdet's recipe with MaskResNet-50
# and the masking data preprocessor, nothing else changed. 25 % Combined
# masks on an 8x8 grid laid over each image (never over the padding).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

model = dict(
    data_preprocessor=dict(
        type='mmmaskreuse.MaskReuseDetDataPreprocessor',
        mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                            grid_size=(8, 8))),
    # torchvision's ResNet-50 has no reuse branch: the reuse stem starts
    # from its stem and trains, frozen_stages or not
    backbone=dict(type='mmmaskreuse.MaskResNet', freeze_reuse=False))
