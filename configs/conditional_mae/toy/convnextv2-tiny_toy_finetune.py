# Toy twin of convnextv2-b_in1k_finetune.py: fine-tune the encoder of
# convnextv2-tiny_fcmae_two-shot_toy_pretrain.py on the 4 toy classes at
# 128 px, CPU-sized. Same AdamW with layer decay 0.6, drop path 0.1,
# warm-up then cosine; no RandAugment / Mixup / CutMix / EMA on toy shapes.
# Another checkpoint: model.backbone.init_cfg.checkpoint=PATH
_base_ = '../convnextv2-b_in1k_finetune.py'

num_classes, img_size = 4, 128
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,  # a dict replaces the name 'base'
            depths=[1, 1, 1, 1],
            channels=[16, 32, 64, 128]),
        init_cfg=dict(checkpoint='work_dirs/conditional_mae/toy/'
                      'convnextv2-tiny_fcmae_two-shot_toy_pretrain/'
                      'epoch_5.pth')),
    head=dict(num_classes=num_classes, in_channels=128),
    train_cfg=dict(_delete_=True))
data_preprocessor = dict(num_classes=num_classes)

data_root = 'data/toy/cls'
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=img_size),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            dict(type='PackInputs')
        ]))
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='val',
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='Resize', scale=img_size),
                  dict(type='PackInputs')]))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

max_epochs = 6
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, eta_min=1e-6, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
# no EMA over a few toy steps; the checkpoint check stays
custom_hooks = [
    dict(type='mmmaskreuse.CheckPretrainedWeightsHook',
         allow_missing=('norm3.', ))
]
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=64)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, diff_rank_seed=False)
