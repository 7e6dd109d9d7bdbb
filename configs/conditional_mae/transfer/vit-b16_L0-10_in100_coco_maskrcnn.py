# Mask R-CNN on COCO with the Conditional MAE ViT-B/16 of
# ../vit-b16_L0-10_in100_pretrain.py (the paper's Tab. 5 and A.1): mmdet's
# Mask R-CNN 1x recipe with the pretrained encoder as backbone. Blocks 3, 5,
# 7 and 11 (no final norm) give four stride-16 maps; mmseg's Feature2Pyramid
# turns them into strides 4, 8, 16 and 32 (deconv x2 twice, deconv, as is,
# max-pool), mmdet's FPN does the rest. Global attention in every block; the
# position embedding is resized to each padded input. Multi-scale training
# (short side 480-800 in steps of 32, long side <= 1333), batch 16 (8 GPUs x
# 2), AdamW lr 5e-4, weight decay 0.05 (not in the paper: the fine-tune's),
# layer-wise lr decay 0.75 (mmmaskreuse.BackboneLayerDecayOptimWrapper-
# Constructor), drop path 0.2, single-scale test (1333 x 800).
# 1x: mmdet's, inherited (500 linear warm-up iterations; 12 epochs, lr / 10
# from the 9th and from the 12th epoch: milestones [8, 11]), as the paper
# says its Mask R-CNN follows MMDetection (its "decayed at epochs 9 and 11"
# fits neither count of those milestones exactly).
# Another encoder: model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    '../../_base_/vit_no_weight_decay.py'
]
custom_imports = dict(
    imports=['mmmaskreuse', 'mmpretrain.models', 'mmseg.models'],
    allow_failed_imports=False)

embed_dims = 768
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.VisionTransformer',
        arch='b',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.2,
        out_type='featmap',
        out_indices=(3, 5, 7, 11),
        final_norm=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/conditional_mae/'
                       'vit-b16_L0-10_in100_pretrain/epoch_300.pth',
            prefix='backbone.')),
    neck=[
        dict(type='mmseg.Feature2Pyramid', embed_dim=embed_dims,
             rescales=(4, 2, 1, 0.5)),
        dict(type='FPN', in_channels=[embed_dims] * 4, out_channels=256,
             num_outs=5)
    ])

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomChoiceResize',
         scales=[(1333, short) for short in range(480, 801, 32)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='mmmaskreuse.BackboneLayerDecayOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.05),
    # no weight decay on norms (the neck's too), biases, cls token and
    # position embedding, as mmpretrain's ViT fine-tune
    paramwise_cfg=dict(
        layer_decay_rate=0.75,
        norm_decay_mult=0.0,
        custom_keys={{_base_.vit_no_decay}}))
custom_hooks = [dict(type='mmmaskreuse.CheckPretrainedWeightsHook')]
auto_scale_lr = dict(base_batch_size=16)
