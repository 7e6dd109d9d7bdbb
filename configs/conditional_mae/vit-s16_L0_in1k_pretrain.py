# L(0; 0.75) with ViT-S/16 (mmpretrain's 'deit-small': 384 wide, 12 blocks);
# the decoder stays MAE's (512 wide, 8 blocks).
_base_ = './vit-b16_L0_in1k_pretrain.py'

model = dict(backbone=dict(arch='deit-small'), neck=dict(embed_dim=384))
