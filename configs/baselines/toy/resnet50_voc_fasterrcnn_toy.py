# Toy twin of mmdet's Faster R-CNN R-50 FPN VOC07+12 recipe: same model, the
# toy VOCdevkit (VOC2007 trainval/test, 128x128 images, 4 shape classes) and
# a CPU-sized schedule.
# Make the data with `python tools/misc/make_toy_data.py`.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

classes = ('circle', 'square', 'triangle', 'cross')
# No ImageNet weights are available offline: train from scratch, so BN
# learns its statistics and no stage is frozen.
model = dict(
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None),
    roi_head=dict(bbox_head=dict(num_classes=len(classes))),
    # proposals and RoI samples sized for 128x128 images with <= 3 objects
    # (upstream: 1000 proposals, 512 RoIs per image), 3x faster on a CPU
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=200)))

data_root = 'data/toy/voc/VOCdevkit/'
metainfo = dict(classes=classes)
image_scale = (128, 128)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
# VOC2007 trainval only (the upstream recipe repeats VOC07+12 three times)
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        _delete_=True,
        type='VOCDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='VOC2007/ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=8, bbox_min_size=8),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=50),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[9, 11], gamma=0.1)
]
# linear scaling of upstream's lr 0.01 at batch 16
optim_wrapper = dict(optimizer=dict(lr=0.0025))
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=4, max_keep_ckpts=2))
auto_scale_lr = dict(base_batch_size=4)

# fixed seed: toy runs (and the tests on them) are reproducible
randomness = dict(seed=0)
