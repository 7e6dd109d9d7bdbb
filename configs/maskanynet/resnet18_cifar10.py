# MaskAnyNet ResNet-18 on CIFAR-10 (JPEG class folders): the recipe of
# baselines/resnet18_cifar10.py; Combined (Patch or Grid) masks of 25 % on
# an 8x8 grid of 4x4-pixel cells, feature-level fusion after the stem, in
# the authors' protocol (a sample is masked with probability 0.2, the
# others' reuse branch sees an AutoAugment copy; docs/maskanynet.md).
_base_ = '../baselines/resnet18_cifar10.py'

model = dict(backbone=dict(type='mmmaskreuse.MaskResNetCIFAR'))
data_preprocessor = dict(
    type='mmmaskreuse.MaskReuseClsDataPreprocessor',
    mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                        grid_size=(8, 8)),
    prob=0.2,
    reuse_view='augmented')
train_dataloader = dict(dataset=dict(
    pipeline=_base_.train_dataloader.dataset.pipeline +
    [dict(type='mmmaskreuse.AutoAugmentReuseView')]))
