# Two-shot FCMAE L(0, 3; 0.6, 0.1) on real CIFAR-10: 60 % of the 16 cells
# masked at the input, then 10 % of the cells still active deactivated
# before stage 3, as the paper's Tab. 6. Everything else is
# convnextv2-mini_fcmae_L0_cifar10_pretrain.py.
# Full size: convnextv2-b_fcmae_L0-3_in1k_pretrain.py.
_base_ = './convnextv2-mini_fcmae_L0_cifar10_pretrain.py'

model = dict(backbone=dict(mask_layers=(0, 3), mask_ratios=(0.6, 0.1)))
