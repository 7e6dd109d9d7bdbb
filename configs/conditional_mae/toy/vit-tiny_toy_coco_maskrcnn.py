# Toy twin of ../transfer/vit-b16_L0-10_in100_coco_maskrcnn.py: Mask R-CNN
# with the encoder of vit-tiny_two-shot_toy_pretrain.py on the toy COCO
# folder, with the data and schedule of the ResNet-50 toy
# (baselines/toy/resnet50_coco_maskrcnn_toy.py). Its 4 blocks all feed the
# pyramid; with 8-pixel patches the maps have stride 8, so Feature2Pyramid
# rescales them by 2, 1, 1/2 and 1/4 to FPN's strides 4 to 32. AdamW with
# layer decay 0.75 and drop path 0.2 as the recipe, lr scaled to batch 4.
# Another checkpoint: model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../../baselines/toy/resnet50_coco_maskrcnn_toy.py',
    '../../_base_/vit_no_weight_decay.py'
]
custom_imports = dict(
    imports=['mmmaskreuse', 'mmpretrain.models', 'mmseg.models'],
    allow_failed_imports=False)

embed_dims = 192
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.VisionTransformer',
        arch=dict(embed_dims=embed_dims, num_layers=4, num_heads=3,
                  feedforward_channels=4 * embed_dims),
        img_size=64,
        patch_size=8,
        drop_path_rate=0.2,
        out_type='featmap',
        out_indices=(0, 1, 2, 3),
        final_norm=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/conditional_mae/toy/'
                       'vit-tiny_two-shot_toy_pretrain/epoch_10.pth',
            prefix='backbone.')),
    neck=[
        dict(type='mmseg.Feature2Pyramid', embed_dim=embed_dims,
             rescales=(2, 1, 0.5, 0.25)),
        dict(type='FPN', in_channels=[embed_dims] * 4, out_channels=256,
             num_outs=5)
    ])

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='mmmaskreuse.BackboneLayerDecayOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW', lr=5e-4 * 4 / 16, betas=(0.9, 0.999),
        weight_decay=0.05),
    paramwise_cfg=dict(
        layer_decay_rate=0.75,
        norm_decay_mult=0.0,
        custom_keys={{_base_.vit_no_decay}}))
custom_hooks = [dict(type='mmmaskreuse.CheckPretrainedWeightsHook')]
