# Mask ratio ablation: 0.5625 of the image (side x0.75).
_base_ = '../resnet34_cifar100.py'
model = dict(backbone=dict(mask_ratio=0.5625))
# Grid masks need cells of period * sqrt(ratio): period 4 -> 1 or 3 cells.
data_preprocessor = dict(mask_generator=dict(mask_ratio=0.5625, period=4))
