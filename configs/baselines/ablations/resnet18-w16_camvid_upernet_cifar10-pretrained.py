# Reference arm of the CamVid pretrained-trunk A/B: the vanilla CPU UperNet
# with its trunk from the vanilla CPU CIFAR-10 recipe
# (baselines/cpu/resnet18-w16_cifar10.py). Put that run's checkpoint at
# `checkpoint` below, or pass
# --cfg-options model.backbone.init_cfg.checkpoint=WORK_DIR/epoch_15.pth
_base_ = '../cpu/resnet18-w16_camvid_upernet.py'

model = dict(backbone=dict(init_cfg=dict(
    type='Pretrained',
    checkpoint='checkpoints/resnet18-w16_cifar10.pth',
    prefix='backbone.')))
