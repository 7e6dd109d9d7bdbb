# Vanilla twin of maskanynet/resnet34_cifar100.py: mmpretrain's CIFAR-100
# recipe (ResNet_CIFAR, 3x3 stem; SGD lr 0.1, wd 5e-4, 200 epochs, steps at
# 60/120/160, 8 GPUs x 16) with depth 34.
_base_ = 'mmpretrain::resnet/resnet50_8xb16_cifar100.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

model = dict(backbone=dict(depth=34), head=dict(in_channels=512))
