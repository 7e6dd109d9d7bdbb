# MaskAnyNet Mask R-CNN R-101 FPN 1x COCO.
_base_ = './resnet50_coco_maskrcnn.py'
model = dict(backbone=dict(depth=101, init_cfg=dict(
    type='Pretrained', checkpoint='torchvision://resnet101')))
