# Short fine-tune of a CPU CIFAR-10 FCMAE pretrain
# (convnextv2-mini_fcmae_L0*_cifar10_pretrain.py): the recipe of
# convnextv2-b_in1k_finetune.py at CPU size (AdamW with layer decay 0.6,
# drop path 0.1, 1 warm-up epoch then cosine; no RandAugment, Mixup,
# CutMix or EMA) on 500 labelled images a class (data/cifar10-500) at the
# pretrain's 128 px, scored on all 10,000 test images; 15 epochs of batch
# 128. The encoder comes from the one-shot pretrain; the two-shot one:
# --cfg-options model.backbone.init_cfg.checkpoint=PATH
# Full size: convnextv2-b_in1k_finetune.py (100 epochs, 8 GPUs).
_base_ = '../convnextv2-b_in1k_finetune.py'

num_classes, img_size = 10, 128
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,  # a dict replaces the name 'base'
            depths=[1, 1, 1, 1],
            channels=[24, 48, 96, 192]),
        init_cfg=dict(checkpoint='work_dirs/conditional_mae/cpu/'
                      'convnextv2-mini_fcmae_L0_cifar10_pretrain/'
                      'epoch_5.pth')),
    head=dict(num_classes=num_classes, in_channels=192),
    train_cfg=dict(_delete_=True))
data_preprocessor = dict(
    num_classes=num_classes,
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=True)

data_root = 'data/cifar10-500'
train_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='RandomCrop', crop_size=32, padding=4),
            dict(type='Resize', scale=img_size),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            dict(type='PackInputs')
        ]))
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='test',
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='Resize', scale=img_size),
                  dict(type='PackInputs')]))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

max_epochs = 15
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, eta_min=1e-6, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
# no EMA over a short run; the checkpoint check stays
custom_hooks = [
    dict(type='mmmaskreuse.CheckPretrainedWeightsHook',
         allow_missing=('norm3.', ))
]
default_hooks = dict(
    logger=dict(interval=20), checkpoint=dict(interval=5, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=128)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, diff_rank_seed=False)
