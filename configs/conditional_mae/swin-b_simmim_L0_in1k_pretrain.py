# Two-shot SimMIM's baseline, one shot L(0; 0.6): mmpretrain's SimMIM Swin-B
# itself (192 px, windows of 6, 32-px mask patches, ratio 0.6, L1 on the
# masked pixels, 100 epochs, AdamW, batch 2048 = 8 GPUs x 256), on the
# multi-shot classes so that its two-shot child changes only the spec.
# The paper's Tab. 6 (fine-tune top-1): L(0; 0.6) 83, L(0, 3; 0.6, 0.1) 84.
_base_ = 'mmpretrain::simmim/simmim_swin-base-w6_8xb256-amp-coslr-100e_in1k-192px.py'  # noqa: E501
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

# shot 1 is the pipeline's SimMIMMaskGenerator: its mask_ratio must be
# mask_ratios[0] (the backbone refuses a mask of another ratio)
mask_ratio = 0.6
model = dict(
    type='mmmaskreuse.MultiShotSimMIM',
    backbone=dict(
        type='mmmaskreuse.MultiShotSimMIMSwin',
        mask_layers=(0, ),
        mask_ratios=(mask_ratio, )))
train_dataloader = dict(
    # a dict inherited through 'mmpretrain::' carries a _scope_ key, which
    # mmengine would hand to default_collate as a keyword: restate it
    collate_fn=dict(_delete_=True, type='default_collate'),
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='RandomResizedCrop', scale=192,
             crop_ratio_range=(0.67, 1.0)),
        dict(type='RandomFlip', prob=0.5),
        dict(type='SimMIMMaskGenerator', input_size=192, mask_patch_size=32,
             model_patch_size=4, mask_ratio=mask_ratio),
        dict(type='PackInputs')
    ]))
# the per-shot losses (rec_shot1, rec_shot2 ...) smoothed like the loss
log_processor = dict(
    mean_pattern=r'.*(loss|time|data_time|grad_norm|rec_shot).*')
