# Vanilla twin of maskanynet/resnet101_voc_fasterrcnn.py, from the vanilla
# ImageNet checkpoint of baselines/resnet101_imagenet.py.
_base_ = './resnet50_voc_fasterrcnn.py'
model = dict(backbone=dict(depth=101, init_cfg=dict(
    checkpoint='work_dirs/baselines/resnet101_imagenet/epoch_100.pth')))
