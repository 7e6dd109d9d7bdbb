# Vanilla twin of maskanynet/resnet50_voc_fasterrcnn.py: mmdet's recipe, from
# the vanilla ImageNet checkpoint of baselines/resnet50_imagenet.py (see
# resnet50_coco_maskrcnn.py); ablations/resnet50_voc_fasterrcnn_torchvision-
# init.py starts from torchvision's ResNet-50, as mmdet does.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

model = dict(backbone=dict(init_cfg=dict(
    type='Pretrained',
    checkpoint='work_dirs/baselines/resnet50_imagenet/epoch_100.pth',
    prefix='backbone.')))
