# Two-shot SimMIM L(0, 3; 0.6, 0.1) (the paper's Tab. 6): SimMIM's 60 % of
# the 32-px cells masked at the input, then 10 % of the cells still visible
# replaced by a mask token before stage 3 (of stages 0-3). At 192 px: 22 of
# the 36 cells, then 2 of the 14 left.
_base_ = './swin-b_simmim_L0_in1k_pretrain.py'

model = dict(backbone=dict(mask_layers=(0, 3), mask_ratios=(0.6, 0.1)))
