# The floor of the CPU CIFAR-10 fine-tunes: vit-mini-p4_cifar10_finetune.py
# from random initialisation (mmpretrain VisionTransformer's own init, no
# pretrain), every other setting the same.
_base_ = './vit-mini-p4_cifar10_finetune.py'

model = dict(backbone=dict(init_cfg=dict(
    _delete_=True, type='Kaiming', layer='Conv2d', mode='fan_in',
    nonlinearity='linear')))
