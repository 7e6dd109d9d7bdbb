# Starting weights: Mask R-CNN R-50 FPN from torchvision's ResNet-50 (mmdet's
# upstream init), for users without a MaskAnyNet ImageNet checkpoint. A
# plain ResNet has no reuse branch: its reuse stem starts as a copy of the
# stem and trains with the fusion (freeze_reuse=False), which costs the
# backward pass through the frozen stage 1 that mmdet's ResNet never runs.
_base_ = '../resnet50_coco_maskrcnn.py'
model = dict(backbone=dict(freeze_reuse=False, init_cfg=dict(
    _delete_=True, type='Pretrained', checkpoint='torchvision://resnet50')))
# torchvision's ResNet-50 has no reuse branch (the MaskAnyNet twin's)
custom_hooks = [
    dict(type='mmmaskreuse.CheckPretrainedWeightsHook',
         allow_missing=('reuse_stem.', 'reuse_fusion.'))
]
