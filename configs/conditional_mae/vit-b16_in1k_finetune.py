# Fine-tune a Conditional MAE ViT-B/16 encoder on ImageNet-1K. mmpretrain's
# MAE fine-tune recipe is the paper's (A.1): 100 epochs, AdamW, base lr 5e-4
# (x 1024 / 256), wd 0.05, layer decay 0.65 (LearningRateDecayOptimWrapper-
# Constructor), drop path 0.1, 5 warm-up epochs then cosine, global average
# pooling, batch 1024 (8 GPUs x 128).
# The encoder comes from a pretrain checkpoint (its 'backbone.' weights); set
# another with --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = 'mmpretrain::mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        init_cfg=dict(
            checkpoint='work_dirs/conditional_mae/'
                       'vit-b16_L0-10_in1k_pretrain/epoch_300.pth')))
# stop before training if the checkpoint is missing or lacks encoder weights
# (the norm after global pooling is new)
custom_hooks = [
    dict(type='mmmaskreuse.CheckPretrainedWeightsHook',
         allow_missing=('ln2.', ))
]
