# CPU-sized child of baselines/resnet18_cifar10.py, for A/Bs on real
# CIFAR-10 on a 2-core machine (docs/measured.md):
# - model: the CIFAR ResNet-18 at a quarter of its width (stem and stages
#   16-32-64-128 channels, 0.7 M parameters);
# - data: 500 training images a class (the small-data regime, where an
#   augmentation is most likely to show), the first by file name
#   (`tools/misc/prepare_cifar10.py SRC data/cifar10-500 --per-class 500`),
#   all 10,000 test images, 32 px, the recipe's crop and flip;
# - schedule: 15 epochs of batch 64 (1,185 iterations), SGD lr 0.05 (the
#   recipe's 0.1 at batch 128), wd 5e-4, cosine decay after a 1-epoch
#   warm-up;
# - about 6 min a run with one thread on an idle 2-core machine (vanilla;
#   docs/measured.md has each arm's time).
# Full size: the parent config on data/cifar10 (all 50,000 images).
_base_ = '../resnet18_cifar10.py'

model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    head=dict(in_channels=128))

data_root = 'data/cifar10-500'
train_dataloader = dict(
    batch_size=64,
    persistent_workers=True,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=256,
    persistent_workers=True,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

max_epochs = 15
optim_wrapper = dict(optimizer=dict(lr=0.05, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=5, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=64)
randomness = dict(seed=0)
