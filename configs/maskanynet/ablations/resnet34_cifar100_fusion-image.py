# Fusion ablation: image level, the reuse image upsampled and stacked as 3
# more input channels.
_base_ = '../resnet34_cifar100.py'
model = dict(backbone=dict(fusion='image'))
