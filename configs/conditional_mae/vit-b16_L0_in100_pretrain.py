# L(0; 0.75) on ImageNet-100 (build it with tools/misc/make_imagenet100.py):
# the paper's study setting (A.1), batch 256 (8 GPUs x 32) at base lr 1.5e-4.
# mmpretrain's ImageNet dataset reads the subset's class folders once it is
# given the 100 classes (sorted wnids, the order of the folders).
_base_ = './vit-b16_L0_in1k_pretrain.py'

imagenet100 = dict(
    data_root='data/imagenet100',
    metainfo=dict(classes='{{ fileDirname }}/imagenet100_classes.txt'))
train_dataloader = dict(batch_size=32, dataset=imagenet100)
optim_wrapper = dict(optimizer=dict(lr=1.5e-4 * 256 / 256))
auto_scale_lr = dict(base_batch_size=256)
