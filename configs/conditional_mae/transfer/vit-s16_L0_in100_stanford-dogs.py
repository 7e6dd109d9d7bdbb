# MAE twin of vit-s16_L0-10_in100_stanford-dogs.py: the same recipe
# from the one-shot L(0; 0.75) encoder of ../vit-s16_L0_in100_pretrain.py.
_base_ = './vit-s16_L0-10_in100_stanford-dogs.py'

model = dict(backbone=dict(init_cfg=dict(
    checkpoint='work_dirs/conditional_mae/'
               'vit-s16_L0_in100_pretrain/epoch_300.pth')))
