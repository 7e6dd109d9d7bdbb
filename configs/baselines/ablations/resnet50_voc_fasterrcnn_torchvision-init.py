# Vanilla twin of maskanynet/ablations/resnet50_voc_fasterrcnn_torchvision-
# init.py: Faster R-CNN R-50 FPN on VOC from torchvision's ResNet-50,
# mmdet's upstream recipe as it is.
_base_ = '../resnet50_voc_fasterrcnn.py'
model = dict(backbone=dict(init_cfg=dict(
    _delete_=True, type='Pretrained', checkpoint='torchvision://resnet50')))
# torchvision's ResNet-50 has no reuse branch (the MaskAnyNet twin's)
custom_hooks = [
    dict(type='mmmaskreuse.CheckPretrainedWeightsHook',
         allow_missing=('reuse_stem.', 'reuse_fusion.'))
]
