# Fusion ablation: feature level by addition (the authors' code) instead
# of concat + alignment module.
_base_ = '../resnet34_cifar100.py'
model = dict(backbone=dict(fusion='add'))
