# Two shots L(0, 6; 0.75, 0.1) on real CIFAR-10: the second shot masks 10 %
# of the visible tokens before block 6 of 8, the last quarter of the
# blocks, as L(0, 10) does in ViT-B's 12. Everything else is
# vit-mini-p4_L0_cifar10_pretrain.py.
# Full size: vit-b16_L0-10_in1k_pretrain.py.
_base_ = './vit-mini-p4_L0_cifar10_pretrain.py'

model = dict(backbone=dict(mask_layers=(0, 6), mask_ratios=(0.75, 0.1)))
