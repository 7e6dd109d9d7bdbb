# MAE twin of vit-b16_L0-10_in100_coco_maskrcnn.py: the same recipe
# from the one-shot L(0; 0.75) encoder of ../vit-b16_L0_in100_pretrain.py.
_base_ = './vit-b16_L0-10_in100_coco_maskrcnn.py'

model = dict(backbone=dict(init_cfg=dict(
    checkpoint='work_dirs/conditional_mae/'
               'vit-b16_L0_in100_pretrain/epoch_300.pth')))
