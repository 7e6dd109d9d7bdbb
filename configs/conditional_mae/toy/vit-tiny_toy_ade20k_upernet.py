# Toy twin of ../transfer/vit-b16_L0-10_in100_ade20k_upernet.py: UperNet
# with the encoder of vit-tiny_two-shot_toy_pretrain.py on the toy
# ADEChallengeData2016 folder, with the data and schedule of the ResNet-50
# toy (baselines/toy/resnet50_ade20k_upernet_toy.py). Its 4 blocks all feed
# the pyramid; with 8-pixel patches Feature2Pyramid rescales the stride-8
# maps by 2, 1, 1/2 and 1/4 (strides 4 to 32). AdamW with layer decay 0.65
# and drop path 0.1 as the recipe, lr 4e-4 scaled to batch 4. As the recipe,
# the position embedding is resized to the crop's grid once, on loading.
# Another checkpoint: model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../../baselines/toy/resnet50_ade20k_upernet_toy.py',
    '../../_base_/vit_no_weight_decay.py'
]
custom_imports = dict(
    imports=['mmmaskreuse', 'mmpretrain.models'], allow_failed_imports=False)

embed_dims = 192
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.VisionTransformer',
        arch=dict(embed_dims=embed_dims, num_layers=4, num_heads=3,
                  feedforward_channels=4 * embed_dims),
        img_size=128,  # the crop; the recipe's 512
        patch_size=8,
        drop_path_rate=0.1,
        out_type='featmap',
        out_indices=(0, 1, 2, 3),
        final_norm=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/conditional_mae/toy/'
                       'vit-tiny_two-shot_toy_pretrain/epoch_10.pth',
            prefix='backbone.')),
    neck=dict(type='Feature2Pyramid', embed_dim=embed_dims,
              rescales=(2, 1, 0.5, 0.25)),
    decode_head=dict(in_channels=[embed_dims] * 4),
    auxiliary_head=dict(in_channels=embed_dims))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='mmmaskreuse.BackboneLayerDecayOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW', lr=4e-4 * 4 / 16, betas=(0.9, 0.999),
        weight_decay=0.05),
    paramwise_cfg=dict(
        layer_decay_rate=0.65,
        norm_decay_mult=0.0,
        custom_keys={{_base_.vit_no_decay}}))
custom_hooks = [dict(type='mmmaskreuse.CheckPretrainedWeightsHook')]
