# L(0; 0.75) with ViT-L/16 (24 blocks), as mmpretrain's MAE ViT-L recipe.
# The paper's own ViT-L run used batch 1024 and 30 warm-up epochs for lack
# of GPUs (A.1); this keeps the settings of the other sizes.
_base_ = './vit-b16_L0_in1k_pretrain.py'

model = dict(backbone=dict(arch='l'), neck=dict(embed_dim=1024))
