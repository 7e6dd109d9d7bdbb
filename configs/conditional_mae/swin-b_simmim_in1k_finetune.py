# Fine-tune a (two-shot) SimMIM Swin-B encoder on ImageNet-1K: mmpretrain's
# SimMIM fine-tune recipe (192 px, windows of 6, 100 epochs, AdamW, layer
# decay 0.9, drop path 0.1, RandAugment, Mixup / CutMix, batch 2048).
# The encoder comes from a pretrain checkpoint (its 'backbone.' weights; the
# mask tokens are left out); set another with
# --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = 'mmpretrain::simmim/benchmarks/swin-base-w6_8xb256-coslr-100e_in1k-192px.py'  # noqa: E501
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        init_cfg=dict(
            checkpoint='work_dirs/conditional_mae/'
                       'swin-b_simmim_L0-3_in1k_pretrain/epoch_100.pth')))
# dicts inherited through 'mmpretrain::' carry a _scope_ key, which
# mmengine would hand to default_collate as a keyword: restate them
train_dataloader = dict(
    collate_fn=dict(_delete_=True, type='default_collate'))
val_dataloader = dict(collate_fn=dict(_delete_=True, type='default_collate'))
test_dataloader = val_dataloader
# stop before training if the checkpoint is missing or lacks encoder weights
custom_hooks = [dict(type='mmmaskreuse.CheckPretrainedWeightsHook')]
