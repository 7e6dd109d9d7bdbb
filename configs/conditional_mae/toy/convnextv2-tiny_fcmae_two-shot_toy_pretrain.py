# Toy twin of convnextv2-b_fcmae_L0-3_in1k_pretrain.py: two-shot FCMAE on the
# toy class-folder images, CPU-sized. The 64x64 images are cropped and
# enlarged to 128 px so that a 4-stage ConvNeXt V2 (16 to 128 channels, one
# block a stage) keeps FCMAE's 32-px cells: 16 of them, FCMAE keeps
# int(16 * 0.4) = 6, shot 2 deactivates 6 - int(6 * 0.9) = 1 more before
# stage 3, as L(0, 3; 0.6, 0.1). Make the data with
# `python tools/misc/make_toy_data.py`.
_base_ = '../convnextv2-b_fcmae_L0-3_in1k_pretrain.py'

img_size = 128
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,  # a dict replaces the name 'base'
            depths=[1, 1, 1, 1],
            channels=[16, 32, 64, 128])),
    neck=dict(in_channels=128, embed_dims=64))

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='data/toy/cls',
        data_prefix='train',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='RandomResizedCrop', scale=img_size,
                 crop_ratio_range=(0.67, 1.0)),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackInputs')
        ]))

max_epochs = 5
# plain fp32 on CPU; the recipe's AdamW and no-decay keys, a larger lr for
# 160 toy steps
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg={{_base_.optim_wrapper.paramwise_cfg}})
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, eta_min=1e-5, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=64)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
resume = False
randomness = dict(seed=0, diff_rank_seed=False)
