# MaskAnyNet Faster R-CNN R-101 FPN on VOC07+12.
_base_ = './resnet50_voc_fasterrcnn.py'
model = dict(backbone=dict(depth=101, init_cfg=dict(
    type='Pretrained', checkpoint='torchvision://resnet101')))
