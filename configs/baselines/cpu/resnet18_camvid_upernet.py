# CPU-sized child of baselines/resnet50_camvid_upernet.py for the CamVid
# A/B on a 2-core machine (docs/measured.md):
# - model: UperNet on ResNetV1c-18 from scratch (no ImageNet weights
#   offline), head and auxiliary head at 64 / 32 channels;
# - data: CamVid at a third of its size (crops of 120 x 160 from images
#   rescaled around 160 x 120; val and test at 160 x 120);
# - schedule: 1,500 iterations of batch 4 (16 epochs), the parent's SGD and
#   poly decay; validation every 750.
# Cost: at half size with a 128-channel head a step took 12 s with one
# thread on a 2-core machine busy with other jobs; this size is about a
# quarter of that work.
# Full size: the parent config (8 GPUs: tools/dist_train.sh CONFIG 8).
_base_ = '../resnet50_camvid_upernet.py'

crop_size = (120, 160)
scale = (160, 120)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(depth=18),
    decode_head=dict(in_channels=[64, 128, 256, 512], channels=64),
    auxiliary_head=dict(in_channels=256, channels=32))

train_dataloader = dict(dataset=dict(pipeline=[
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

max_iters = 1500
train_cfg = dict(max_iters=max_iters, val_interval=750)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=250, max_keep_ckpts=1))
randomness = dict(seed=0)
