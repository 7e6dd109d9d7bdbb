# Toy twin of baselines/efficientnetv2-s_imagenet.py at CPU size: the
# ResNet-18 toy recipe (data, schedule, pooling neck) with mmpretrain's
# smallest EfficientNetV2, B0, and AdamW: with the ResNet's SGD (lr 0.05)
# B0 stayed at chance (loss ln 4) for 3 toy epochs, with AdamW it learns.
_base_ = 'resnet18_toy_cls.py'

model = dict(
    backbone=dict(_delete_=True, type='EfficientNetV2', arch='b0'),
    head=dict(in_channels=1280))
optim_wrapper = dict(optimizer=dict(
    _delete_=True, type='AdamW', lr=2e-3, weight_decay=0.05))
