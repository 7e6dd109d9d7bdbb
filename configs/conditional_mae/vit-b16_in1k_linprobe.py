# Linear probe of a Conditional MAE ViT-B/16 encoder on ImageNet-1K, as the
# paper (A.1, following MAE): 90 epochs (10 warm-up, then cosine), LARS,
# lr 0.1 taken as MAE's base lr (x 1024 / 256), batch 1024 (8 GPUs x 128),
# the cls token through a BatchNorm without affine, encoder frozen.
# Set another checkpoint with model.backbone.init_cfg.checkpoint=PATH
_base_ = ('mmpretrain::mae/benchmarks/'
          'vit-base-p16_8xb2048-linear-coslr-90e_in1k.py')
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

train_dataloader = dict(batch_size=128)
model = dict(
    backbone=dict(
        init_cfg=dict(
            checkpoint='work_dirs/conditional_mae/'
                       'vit-b16_L0-10_in1k_pretrain/epoch_300.pth')))
optim_wrapper = dict(optimizer=dict(lr=0.1 * 1024 / 256))
auto_scale_lr = dict(base_batch_size=1024)
# stop before training if the checkpoint is missing or lacks encoder weights
custom_hooks = [dict(type='mmmaskreuse.CheckPretrainedWeightsHook')]
