# Conditional MAE, one shot L(0; 0.75): MAE itself, the baseline of every
# multi-shot recipe. mmpretrain's MAE ViT-B/16 300-epoch ImageNet-1K recipe
# is the paper's (A.1): AdamW, base lr 1.5e-4 (x 4096 / 256), wd 0.05,
# 40 warm-up epochs, 300 epochs, batch 4096 (8 GPUs x 512).
_base_ = 'mmpretrain::mae/mae_vit-base-p16_8xb512-amp-coslr-300e_in1k.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

model = dict(
    type='mmmaskreuse.ConditionalMAE',
    backbone=dict(
        _delete_=True,
        type='mmmaskreuse.MultiShotMAEViT',
        arch='b',
        patch_size=16,
        mask_layers=(0, ),
        mask_ratios=(0.75, )))
# Dicts inherited through 'mmpretrain::' carry a _scope_ key; mmengine's
# Runner hands the collate_fn dict's keys to the function as keywords, so
# default_collate would fail on it: restate the dict here.
train_dataloader = dict(
    collate_fn=dict(_delete_=True, type='default_collate'))
# the per-shot losses (rec_shot1, rec_shot2 ...) smoothed like the loss
log_processor = dict(
    mean_pattern=r'.*(loss|time|data_time|grad_norm|rec_shot).*')
