# Toy twin of swin-b_simmim_in1k_finetune.py: fine-tune the encoder of
# swin-tiny_simmim_two-shot_toy_pretrain.py on the 4 toy classes at 128 px,
# CPU-sized. Same AdamW with layer decay 0.9, drop path 0.1, warm-up then
# cosine; no RandAugment / Mixup / CutMix / random crops on toy shapes.
# lr 5e-4 for 10 epochs: at 1e-3 (the ViT and ConvNeXt V2 toys' lr) this
# Swin's loss stayed at ln 4 (docs/conditional_mae.md); the recipe's own
# 5e-3 at batch 2048 scales linearly to 1.6e-4 at 64.
# Another checkpoint: model.backbone.init_cfg.checkpoint=PATH
_base_ = '../swin-b_simmim_in1k_finetune.py'

num_classes, img_size, embed_dims = 4, 128, 32
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,  # a dict replaces the name 'base'
            embed_dims=embed_dims,
            depths=[1, 1, 1, 1],
            num_heads=[1, 2, 4, 8]),
        img_size=img_size,
        stage_cfgs=dict(block_cfgs=dict(window_size=img_size // 32)),
        init_cfg=dict(checkpoint='work_dirs/conditional_mae/toy/'
                      'swin-tiny_simmim_two-shot_toy_pretrain/epoch_5.pth')),
    head=dict(num_classes=num_classes, in_channels=embed_dims * 8),
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

max_epochs = 10
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(lr=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True,
         begin=1, end=max_epochs, eta_min=1e-6, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=64)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, diff_rank_seed=False)
