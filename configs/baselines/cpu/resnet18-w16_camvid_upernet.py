# CPU-sized child of baselines/resnet50_camvid_upernet.py for the CamVid
# A/B on a 2-core machine (docs/measured.md):
# - model: UperNet on the trunk of baselines/cpu/resnet18-w16_cifar10.py
#   (mmpretrain's ResNet_CIFAR-18 at a quarter width: 3x3 stem, no
#   max-pool, stages 16-32-64-128 at strides 1-2-4-8), so that the same
#   trunk starts from scratch here or from its CIFAR-10 checkpoint
#   (ablations/resnet18-w16_camvid_upernet_cifar10-pretrained.py); head
#   and auxiliary head at 32 / 16 channels;
# - data: CamVid at a quarter of its size (120 x 90: a car spans 10-40 px,
#   the scale of a CIFAR object), random rescale 0.5-2.0, crops of
#   72 x 96, flip, photometric distortion; val and test at 120 x 90,
#   scored at the labels' 480 x 360;
# - schedule: 500 iterations of batch 8 (11 epochs of the 367 training
#   images), the parent's SGD lr 0.01 and poly decay; validation at the
#   end (test.py scores the test split);
# - about 0.8 s an iteration with one thread on a 2-core machine
#   (docs/measured.md has each arm's time).
# Full size: the parent config (8 GPUs: tools/dist_train.sh CONFIG 8).
_base_ = '../resnet50_camvid_upernet.py'

crop_size = (72, 96)
scale = (120, 90)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        _delete_=True,
        type='mmpretrain.ResNet_CIFAR',
        depth=18,
        stem_channels=16,
        base_channels=16,
        out_indices=(0, 1, 2, 3)),
    decode_head=dict(in_channels=[16, 32, 64, 128], channels=32),
    auxiliary_head=dict(in_channels=64, channels=16))

train_dataloader = dict(
    batch_size=8,
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='RandomResize', scale=scale, ratio_range=(0.5, 2.0),
             keep_ratio=True),
        dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PhotoMetricDistortion'),
        dict(type='PackSegInputs'),
    ]))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

max_iters = 500
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=250, max_keep_ckpts=1))
randomness = dict(seed=0)
