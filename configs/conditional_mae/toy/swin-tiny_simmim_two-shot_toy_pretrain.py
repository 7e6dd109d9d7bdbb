# Toy twin of swin-b_simmim_L0-3_in1k_pretrain.py: two-shot SimMIM on the toy
# class-folder images, CPU-sized. The 64x64 images are cropped and enlarged
# to 128 px so that a 4-stage Swin (32 wide, one block a stage, windows of
# 4) keeps SimMIM's 32-px cells: 16 of them, SimMIM masks ceil(16 * 0.6) =
# 10, shot 2 masks 6 - int(6 * 0.9) = 1 more before stage 3, as
# L(0, 3; 0.6, 0.1). Make the data with `python tools/misc/make_toy_data.py`.
_base_ = '../swin-b_simmim_L0-3_in1k_pretrain.py'

img_size, embed_dims = 128, 32
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,  # a dict replaces the name 'base'
            embed_dims=embed_dims,
            depths=[1, 1, 1, 1],
            num_heads=[1, 2, 4, 8]),
        img_size=img_size,
        stage_cfgs=dict(block_cfgs=dict(window_size=img_size // 32))),
    neck=dict(in_channels=embed_dims * 8))

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
            dict(type='SimMIMMaskGenerator', input_size=img_size,
                 mask_patch_size=32, model_patch_size=4,
                 mask_ratio={{_base_.mask_ratio}}),
            dict(type='PackInputs')
        ]))

max_epochs = 5
# plain fp32 on CPU; SimMIM's AdamW, clipping and no-decay keys, a larger lr
# for 160 toy steps
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(lr=1e-3))
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
randomness = dict(seed=0, diff_rank_seed=False)
