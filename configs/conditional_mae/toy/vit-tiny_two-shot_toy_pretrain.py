# Toy twin of vit-b16_L0-10_in1k_pretrain.py: two-shot Conditional MAE on
# the 64x64 toy class-folder images, CPU-sized. A tiny ViT (192 wide, 4
# blocks, 8x8 patches: 64 tokens) masks 75 % at the input and 10 % of the
# visible tokens before block 3 (64 -> 16 -> 14 tokens), as L(0, 10) sits
# two blocks before the end of ViT-B. Make the data with
# `python tools/misc/make_toy_data.py`.
_base_ = '../vit-b16_L0-10_in1k_pretrain.py'

img_size, patch_size, embed_dims = 64, 8, 192
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,  # a dict replaces the name 'b'
            embed_dims=embed_dims,
            num_layers=4,
            num_heads=3,
            feedforward_channels=4 * embed_dims),
        img_size=img_size,
        patch_size=patch_size,
        mask_layers=(0, 3),
        mask_ratios=(0.75, 0.1)),
    neck=dict(
        num_patches=(img_size // patch_size)**2,
        patch_size=patch_size,
        embed_dim=embed_dims,
        decoder_embed_dim=128,
        decoder_depth=2,
        decoder_num_heads=4),
    head=dict(patch_size=patch_size))

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
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackInputs')
        ]))

max_epochs = 10
# plain fp32 on CPU; same AdamW and no-decay keys as the real recipe
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    # the paper's base lr, not scaled down to batch 64: 320 toy steps
    optimizer=dict(
        type='AdamW', lr=1.5e-4, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg={{_base_.optim_wrapper.paramwise_cfg}})
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=64)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
resume = False  # the real recipe resumes automatically; a toy run restarts
randomness = dict(seed=0, diff_rank_seed=False)
