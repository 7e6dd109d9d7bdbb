# Vanilla twin of maskanynet/resnet101_coco_maskrcnn.py: mmdet's recipe, from
# the vanilla ImageNet checkpoint of baselines/resnet101_imagenet.py.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r101_fpn_1x_coco.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

model = dict(backbone=dict(init_cfg=dict(
    type='Pretrained',
    checkpoint='work_dirs/baselines/resnet101_imagenet/epoch_100.pth',
    prefix='backbone.')))
