# Linear probe on ImageNet-100 (tools/misc/make_imagenet100.py), the
# paper's study setting, with the ImageNet-1K probe's recipe.
_base_ = './vit-b16_in1k_linprobe.py'

imagenet100 = dict(
    data_root='data/imagenet100',
    metainfo=dict(classes='{{ fileDirname }}/imagenet100_classes.txt'))
train_dataloader = dict(dataset=imagenet100)
val_dataloader = dict(dataset=imagenet100)
test_dataloader = val_dataloader

model = dict(
    backbone=dict(
        init_cfg=dict(
            checkpoint='work_dirs/conditional_mae/'
                       'vit-b16_L0-10_in100_pretrain/epoch_300.pth')),
    head=dict(num_classes=100))
