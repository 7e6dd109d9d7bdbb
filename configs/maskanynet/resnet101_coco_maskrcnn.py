# MaskAnyNet Mask R-CNN R-101 FPN 1x COCO, from the MaskAnyNet ImageNet
# checkpoint of resnet101_imagenet.py.
_base_ = './resnet50_coco_maskrcnn.py'
model = dict(backbone=dict(depth=101, init_cfg=dict(
    checkpoint='work_dirs/maskanynet/resnet101_imagenet/epoch_100.pth')))
