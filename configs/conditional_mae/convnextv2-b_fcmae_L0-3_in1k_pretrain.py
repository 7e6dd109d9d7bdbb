# Two-shot FCMAE L(0, 3; 0.6, 0.1) (the paper's Tab. 6): FCMAE's 60 % of the
# 32-px cells masked at the input, then 10 % of the cells still active
# deactivated before stage 3 (of stages 0-3). At 224 px: 30 of the 49
# cells, then 2 of the 19 left.
_base_ = './convnextv2-b_fcmae_L0_in1k_pretrain.py'

model = dict(backbone=dict(mask_layers=(0, 3), mask_ratios=(0.6, 0.1)))
