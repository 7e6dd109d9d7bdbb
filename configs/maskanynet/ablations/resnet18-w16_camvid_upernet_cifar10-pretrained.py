# Arm of the CamVid pretrained-trunk A/B (fusion for pretrained trunks):
# the MaskAnyNet CPU UperNet (concat fusion: a new Feature Alignment
# Module after the pretrained stem) with its trunk from the vanilla CPU
# CIFAR-10 recipe (baselines/cpu/resnet18-w16_cifar10.py); the reuse stem
# starts as a copy of the stem. Put that run's checkpoint at `checkpoint`
# below, or pass
# --cfg-options model.backbone.init_cfg.checkpoint=WORK_DIR/epoch_15.pth
_base_ = '../cpu/resnet18-w16_camvid_upernet.py'

model = dict(backbone=dict(init_cfg=dict(
    type='Pretrained',
    checkpoint='checkpoints/resnet18-w16_cifar10.pth',
    prefix='backbone.')))
