# Fine-tune on ImageNet-100 (tools/misc/make_imagenet100.py), the paper's
# study setting (A.1): batch 256 (8 GPUs x 32), base lr 5e-4, the middle of
# the three it searched (1e-4, 5e-4, 1e-3); the rest as on ImageNet-1K.
_base_ = './vit-b16_in1k_finetune.py'

imagenet100 = dict(
    data_root='data/imagenet100',
    metainfo=dict(classes='{{ fileDirname }}/imagenet100_classes.txt'))
train_dataloader = dict(batch_size=32, dataset=imagenet100)
val_dataloader = dict(batch_size=64, dataset=imagenet100)
test_dataloader = val_dataloader

model = dict(
    backbone=dict(
        init_cfg=dict(
            checkpoint='work_dirs/conditional_mae/'
                       'vit-b16_L0-10_in100_pretrain/epoch_300.pth')),
    head=dict(num_classes=100))
data_preprocessor = dict(num_classes=100)  # Mixup / CutMix labels
optim_wrapper = dict(optimizer=dict(lr=5e-4 * 256 / 256))
auto_scale_lr = dict(base_batch_size=256)
