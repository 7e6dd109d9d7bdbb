# Starting weights: Faster R-CNN R-50 FPN on VOC from torchvision's
# ResNet-50; see resnet50_coco_maskrcnn_torchvision-init.py.
_base_ = '../resnet50_voc_fasterrcnn.py'
model = dict(backbone=dict(freeze_reuse=False, init_cfg=dict(
    _delete_=True, type='Pretrained', checkpoint='torchvision://resnet50')))
# torchvision's ResNet-50 has no reuse branch (the MaskAnyNet twin's)
custom_hooks = [
    dict(type='mmmaskreuse.CheckPretrainedWeightsHook',
         allow_missing=('reuse_stem.', 'reuse_fusion.'))
]
