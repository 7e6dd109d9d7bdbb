# Arm of the CamVid pretrained-trunk A/B: the residual fusion (the stem's
# features plus a zero-initialised alignment of the reuse features, so
# the pretrained trunk is unchanged at step 0) against the concat of
# resnet18-w16_camvid_upernet_cifar10-pretrained.py.
_base_ = './resnet18-w16_camvid_upernet_cifar10-pretrained.py'

model = dict(backbone=dict(fusion='residual'))
