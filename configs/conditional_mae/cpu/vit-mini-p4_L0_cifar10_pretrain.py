# CPU-sized MAE L(0; 0.75) on real CIFAR-10 (issue 29; docs/analysis.md):
# one shot, the twin of vit-mini-p4_L0-6_cifar10_pretrain.py, which differs
# in its second shot only.
# - model: a ViT narrower and shallower than ViT-tiny ("mini": 128 wide,
#   8 blocks, 4 heads, MLP 512) on 32 x 32 images in 4 x 4 patches (64
#   tokens); MAE's decoder at 96 wide, 2 blocks, 3 heads;
# - data: the 50,000 training images of data/cifar10
#   (tools/misc/prepare_cifar10.py), labels unused; MAE's random resized
#   crop (0.2-1.0, bicubic) to 32 px and flip; CIFAR-10 mean and std;
# - schedule: MAE's AdamW (base lr 1.5e-4 per 256, betas 0.9 / 0.95, wd
#   0.05, no decay on norms, biases and tokens) at batch 256, fp32 on the
#   CPU, 1 warm-up epoch then cosine, `max_epochs` below.
# Full size: vit-b16_L0_in1k_pretrain.py (ViT-B/16, 300-1600 epochs, 8 GPUs).
_base_ = '../vit-b16_L0_in1k_pretrain.py'

img_size, patch_size, embed_dims = 32, 4, 128
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,  # a dict replaces the name 'b'
            embed_dims=embed_dims,
            num_layers=8,
            num_heads=4,
            feedforward_channels=4 * embed_dims),
        img_size=img_size,
        patch_size=patch_size),
    neck=dict(
        num_patches=(img_size // patch_size)**2,
        patch_size=patch_size,
        embed_dim=embed_dims,
        decoder_embed_dim=96,
        decoder_depth=2,
        decoder_num_heads=3),
    head=dict(patch_size=patch_size))
data_preprocessor = dict(
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=True)

train_dataloader = dict(
    batch_size=256,
    num_workers=2,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='data/cifar10',
        data_prefix='train',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='RandomResizedCrop', scale=img_size,
                 crop_ratio_range=(0.2, 1.0), backend='pillow',
                 interpolation='bicubic'),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackInputs')
        ]))

max_epochs = 8
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1.5e-4 * 256 / 256, betas=(0.9, 0.95),
        weight_decay=0.05),
    paramwise_cfg={{_base_.optim_wrapper.paramwise_cfg}})
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(interval=20), checkpoint=dict(interval=1, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=256)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, diff_rank_seed=False)
