# Toy twin of mmseg's UperNet R-50 ADE20K recipe: same model, the toy
# ADEChallengeData2016 folder (128x128 images; background + 4 shapes) and a
# CPU-sized schedule. Make the data with `python tools/misc/make_toy_data.py`.
_base_ = 'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

classes = ('background', 'circle', 'square', 'triangle', 'cross')
crop_size = (128, 128)
# No ImageNet weights are available offline: train from scratch.
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=len(classes)),
    auxiliary_head=dict(num_classes=len(classes)))

# ADE20K's layout and label convention (0 = ignored "other", reduce_zero_label)
# with the toy classes; ADE20KDataset itself only accepts subsets of its 150.
dataset = dict(
    type='BaseSegDataset',
    data_root='data/toy/ade/ADEChallengeData2016',
    metainfo=dict(
        classes=classes,
        palette=[[120, 120, 120], [230, 25, 75], [60, 180, 75],
                 [255, 225, 25], [0, 130, 200]]),
    img_suffix='.jpg',
    seg_map_suffix='.png',
    reduce_zero_label=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(256, 128), ratio_range=(0.75, 1.5),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 128), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    dataset=dict(
        _delete_=True,
        data_prefix=dict(
            img_path='images/training', seg_map_path='annotations/training'),
        pipeline=train_pipeline,
        **dataset))
val_dataloader = dict(
    num_workers=2,
    dataset=dict(
        _delete_=True,
        data_prefix=dict(
            img_path='images/validation',
            seg_map_path='annotations/validation'),
        pipeline=test_pipeline,
        **dataset))
test_dataloader = val_dataloader

max_iters = 200
train_cfg = dict(max_iters=max_iters, val_interval=100)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=100, max_keep_ckpts=2))

# fixed seed: toy runs (and the tests on them) are reproducible
randomness = dict(seed=0)
