# UperNet on ADE20K with the Conditional MAE ViT-B/16 of
# ../vit-b16_L0-10_in100_pretrain.py (the paper's Tab. 5 and A.1, after
# CAE): mmseg's MAE UperNet recipe (blocks 3, 5, 7, 11 -> Feature2Pyramid ->
# UperNet head + FCN auxiliary head, 512 x 512 crops, batch 16 = 8 GPUs x 2,
# 160k iterations, 1,500 warm-up iterations then poly decay, sliding-window
# test, no multi-scale test) with these changes:
# - the backbone is mmpretrain's VisionTransformer, the pretrain encoder's own
#   class (mmseg's MAE backbone adds layer scale and ignores
#   init_cfg.prefix), position embedding resized to the 32 x 32 grid once,
#   when the checkpoint loads;
# - AdamW lr 4e-4, the middle of the paper's search {3e-4, 4e-4, 5e-4}: run
#   the other two with --cfg-options optim_wrapper.optimizer.lr=3e-4 (5e-4);
# - layer-wise lr decay 0.65 from mmmaskreuse.BackboneLayerDecayOptimWrapper-
#   Constructor (mmseg's keys off the backbone class name), drop path 0.1.
# Another encoder: model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    'mmseg::mae/mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py',
    '../../_base_/vit_no_weight_decay.py'
]
custom_imports = dict(
    imports=['mmmaskreuse', 'mmpretrain.models'], allow_failed_imports=False)

model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='mmpretrain.VisionTransformer',
        arch='b',
        img_size=512,
        patch_size=16,
        drop_path_rate=0.1,
        out_type='featmap',
        out_indices=(3, 5, 7, 11),
        final_norm=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/conditional_mae/'
                       'vit-b16_L0-10_in100_pretrain/epoch_300.pth',
            prefix='backbone.')))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='mmmaskreuse.BackboneLayerDecayOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW', lr=4e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(
        layer_decay_rate=0.65,
        norm_decay_mult=0.0,
        custom_keys={{_base_.vit_no_decay}}))
custom_hooks = [dict(type='mmmaskreuse.CheckPretrainedWeightsHook')]
auto_scale_lr = dict(base_batch_size=16)
