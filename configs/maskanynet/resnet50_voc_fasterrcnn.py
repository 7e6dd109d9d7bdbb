# MaskAnyNet Faster R-CNN R-50 FPN on VOC07+12: mmdet's recipe with
# MaskResNet-50 and the masking data preprocessor, nothing else changed.
#
# The backbone starts from the MaskAnyNet ImageNet checkpoint that
# `tools/dist_train.sh configs/maskanynet/resnet50_imagenet.py 8` writes,
# its reuse branch frozen with the stem (see resnet50_coco_maskrcnn.py);
# ablations/resnet50_voc_fasterrcnn_torchvision-init.py starts from
# torchvision's ResNet-50 instead.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
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
