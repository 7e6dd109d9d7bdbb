# Vanilla twin of maskanynet/resnet101_voc_fasterrcnn.py.
_base_ = './resnet50_voc_fasterrcnn.py'
model = dict(backbone=dict(depth=101, init_cfg=dict(
    type='Pretrained', checkpoint='torchvision://resnet101')))
