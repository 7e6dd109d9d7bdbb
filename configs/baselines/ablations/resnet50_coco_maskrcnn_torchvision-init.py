# Vanilla twin of maskanynet/ablations/resnet50_coco_maskrcnn_torchvision-
# init.py: Mask R-CNN R-50 FPN from torchvision's ResNet-50, mmdet's
# upstream recipe as it is.
_base_ = '../resnet50_coco_maskrcnn.py'
model = dict(backbone=dict(init_cfg=dict(
    _delete_=True, type='Pretrained', checkpoint='torchvision://resnet50')))
# torchvision's ResNet-50 has no reuse branch (the MaskAnyNet twin's)
custom_hooks = [
    dict(type='mmmaskreuse.CheckPretrainedWeightsHook',
         allow_missing=('reuse_stem.', 'reuse_fusion.'))
]
