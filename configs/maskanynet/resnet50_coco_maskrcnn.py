# MaskAnyNet Mask R-CNN R-50 FPN 1x COCO: mmdet's recipe with MaskResNet-50
# and the masking data preprocessor, nothing else changed. 25 % Combined
# masks on an 8x8 grid laid over each image (never over the padding).
#
# The backbone starts from the MaskAnyNet ImageNet checkpoint that
# `tools/dist_train.sh configs/maskanynet/resnet50_imagenet.py 8` writes;
# mmdet's frozen_stages=1 freezes its reuse stem and fusion with the stem
# (freeze_reuse=True): the backbone is transferred whole, reuse branch
# included (the paper does not say how its detectors are initialised). To
# start from torchvision's ResNet-50 instead, which has no reuse branch to
# freeze, use ablations/resnet50_coco_maskrcnn_torchvision-init.py.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

model = dict(
    data_preprocessor=dict(
        type='mmmaskreuse.MaskReuseDetDataPreprocessor',
        mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                            grid_size=(8, 8))),
    backbone=dict(
        type='mmmaskreuse.MaskResNet',
        freeze_reuse=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/maskanynet/resnet50_imagenet/epoch_100.pth',
            prefix='backbone.')))
