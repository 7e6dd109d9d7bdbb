# Two shots L(0, 10; 0.75, 0.1), the paper's best: 75 % of the patches
# masked at the input, then 10 % of the visible tokens before block 10.
_base_ = './vit-b16_L0_in1k_pretrain.py'

model = dict(backbone=dict(mask_layers=(0, 10), mask_ratios=(0.75, 0.1)))
