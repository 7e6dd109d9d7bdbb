# FCMAE, one shot L(0; 0.6): ConvNeXt V2-B pretrained as its authors do
# (ConvNeXt-V2 TRAINING.md: 32-px cells masked at 0.6, 224 px, decoder 512
# wide with one block, MSE on normalised pixels, AdamW base lr 1.5e-4
# x 4096 / 256, wd 0.05, betas (0.9, 0.95), 40 warm-up of 1600 epochs,
# batch 4096). mmpretrain has no FCMAE recipe; its MAE ViT-B 1600-epoch one
# is that same schedule and pipeline (RandomResizedCrop 0.2-1, flip), so
# this inherits it and swaps the model. The paper's Tab. 6 (fine-tune
# top-1): L(0; 0.6) 80, L(0, 3; 0.6, 0.1) 81.
_base_ = 'mmpretrain::mae/mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='mmmaskreuse.FCMAE',
    backbone=dict(
        type='mmmaskreuse.MultiShotSparseConvNeXt',
        arch='base',
        mask_layers=(0, ),
        mask_ratios=(0.6, )),
    neck=dict(
        type='mmmaskreuse.FCMAEDecoder', in_channels=1024, embed_dims=512),
    head=dict(
        type='MAEPretrainHead',
        norm_pix=True,
        patch_size=32,
        loss=dict(type='PixelReconstructionLoss', criterion='L2')))
# no weight decay on norms and biases, as the authors: their pretraining
# takes timm's add_weight_decay with no skip list, which exempts 1-D
# parameters and biases only; the mask token ([1, C, 1, 1]) is decayed
optim_wrapper = dict(
    paramwise_cfg=dict(
        _delete_=True, norm_decay_mult=0.0, bias_decay_mult=0.0))
# a dict inherited through 'mmpretrain::' carries a _scope_ key, which
# mmengine would hand to default_collate as a keyword: restate it
train_dataloader = dict(
    collate_fn=dict(_delete_=True, type='default_collate'))
# the per-shot losses (rec_shot1, rec_shot2 ...) smoothed like the loss
log_processor = dict(
    mean_pattern=r'.*(loss|time|data_time|grad_norm|rec_shot).*')
