# CPU-sized FCMAE L(0; 0.6) on real CIFAR-10 (issue 29's ConvNeXt V2 row):
# one shot, the twin of convnextv2-mini_fcmae_L0-3_cifar10_pretrain.py.
# - model: a 4-stage ConvNeXt V2 ("mini": 24-48-96-192 channels, one
#   block a stage) with FCMAE's decoder at 96 wide;
# - data: the 50,000 training images of data/cifar10, labels unused,
#   enlarged to 128 px by FCMAE's random resized crop (0.2-1.0) so that its
#   32-px cells stay cells (16 of them, 8 source pixels each), as the toy
#   twin does; flip; CIFAR-10 mean and std;
# - schedule: the recipe's AdamW (betas 0.9 / 0.95, wd 0.05, no decay on
#   norms and biases) at batch 128, lr 1e-3 as the toy twin's for a short
#   run (the recipe's 1.5e-4 per 256 is for 1600 epochs), 1 warm-up epoch
#   then cosine, `max_epochs` below.
# Full size: convnextv2-b_fcmae_L0_in1k_pretrain.py (ConvNeXt V2-B, 1600
# epochs, 8 GPUs).
_base_ = '../convnextv2-b_fcmae_L0_in1k_pretrain.py'

img_size = 128
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,  # a dict replaces the name 'base'
            depths=[1, 1, 1, 1],
            channels=[24, 48, 96, 192])),
    neck=dict(in_channels=192, embed_dims=96))
data_preprocessor = dict(
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=True)

train_dataloader = dict(
    batch_size=128,
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

max_epochs = 5
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
    logger=dict(interval=20), checkpoint=dict(interval=1, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=128)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, diff_rank_seed=False)
