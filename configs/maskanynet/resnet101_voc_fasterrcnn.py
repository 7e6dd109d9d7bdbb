# MaskAnyNet Faster R-CNN R-101 FPN on VOC07+12, from the MaskAnyNet
# ImageNet checkpoint of resnet101_imagenet.py.
_base_ = './resnet50_voc_fasterrcnn.py'
model = dict(backbone=dict(depth=101, init_cfg=dict(
    checkpoint='work_dirs/maskanynet/resnet101_imagenet/epoch_100.pth')))
