# Toy twin of ../transfer/vit-b16_L0-10_in100_cifar10.py: the encoder of
# vit-tiny_two-shot_toy_pretrain.py fine-tuned at a lower resolution than it
# was pretrained at, as the CIFAR recipes do (32 x 32 with 16-pixel patches:
# a 2 x 2 grid): the toy class folders resized to 32 x 32 with 8-pixel
# patches, a 4 x 4 grid; the pretrain's 8 x 8 position embedding is resized
# when it loads. Schedule and optimizer of vit-tiny_toy_finetune.py.
# Another checkpoint: model.backbone.init_cfg.checkpoint=PATH
_base_ = './vit-tiny_toy_finetune.py'

image_size = 32
model = dict(backbone=dict(img_size=image_size))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs')
]))
val_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size),
    dict(type='PackInputs')
]))
test_dataloader = val_dataloader
