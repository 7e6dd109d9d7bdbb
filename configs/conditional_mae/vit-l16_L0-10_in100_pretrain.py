# Two shots L(0, 10; 0.75, 0.1).
_base_ = './vit-l16_L0_in100_pretrain.py'

model = dict(backbone=dict(mask_layers=(0, 10), mask_ratios=(0.75, 0.1)))
