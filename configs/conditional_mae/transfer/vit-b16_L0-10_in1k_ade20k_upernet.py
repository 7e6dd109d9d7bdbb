# vit-b16_L0-10_in100_ade20k_upernet.py from the ImageNet-1K encoder of
# ../vit-b16_L0-10_in1k_pretrain.py (the paper's 46.1 mIoU against MAE's
# 45.8, Sec. 3.2).
_base_ = './vit-b16_L0-10_in100_ade20k_upernet.py'

model = dict(backbone=dict(init_cfg=dict(
    checkpoint='work_dirs/conditional_mae/'
               'vit-b16_L0-10_in1k_pretrain/epoch_300.pth')))
