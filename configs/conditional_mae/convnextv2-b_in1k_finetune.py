# Fine-tune an FCMAE ConvNeXt V2-B encoder on ImageNet-1K: mmpretrain's
# ConvNeXt V2-B recipe (AdamW lr 2.5e-3 = 6.25e-4 x 1024 / 256, 100 epochs,
# 20 warm-up, drop path 0.1, RandAugment, random erasing 0.25, Mixup /
# CutMix, label smoothing, EMA) plus the authors' layer decay 0.6 over
# ConvNeXt's 'group' depths (mmpretrain's ConvNeXt.get_layer_depth).
# The encoder comes from a pretrain checkpoint (its 'backbone.' weights; the
# final norm starts fresh); set another with
# --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = 'mmpretrain::convnext_v2/convnext-v2-base_32xb32_in1k.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/conditional_mae/'
            'convnextv2-b_fcmae_L0-3_in1k_pretrain/epoch_1600.pth',
            prefix='backbone.')))
optim_wrapper = dict(
    constructor='LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.6))
# mmpretrain's EMA, and a stop before training if the checkpoint is missing
# or lacks encoder weights (the norm after global pooling is new)
custom_hooks = [
    dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL'),
    dict(type='mmmaskreuse.CheckPretrainedWeightsHook',
         allow_missing=('norm3.', ))
]
