# Fusion ablation: decision level, a second ResNet-34 on the reuse image,
# features concatenated before the head (about 2x the parameters).
_base_ = '../resnet34_cifar100.py'
model = dict(backbone=dict(fusion='decision'), head=dict(in_channels=1024))
