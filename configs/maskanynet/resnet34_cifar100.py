# MaskAnyNet ResNet-34 on CIFAR-100: the recipe of
# baselines/resnet34_cifar100.py; Combined (Patch or Grid) masks of 25 % on
# an 8x8 grid of 4x4-pixel cells, feature-level fusion after the stem.
_base_ = '../baselines/resnet34_cifar100.py'

model = dict(backbone=dict(type='mmmaskreuse.MaskResNetCIFAR'))
# The authors' protocol: a sample is masked with probability 0.2; the
# reuse branch of the others sees an AutoAugment (CIFAR-10 policy) copy of
# the image, made by the loader workers (docs/maskanynet.md). CIFAR
# images are RGB arrays (the preprocessor's to_rgb=False).
data_preprocessor = dict(
    type='mmmaskreuse.MaskReuseClsDataPreprocessor',
    mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                        grid_size=(8, 8)),
    prob=0.2,
    reuse_view='augmented')
train_dataloader = dict(dataset=dict(
    pipeline=_base_.train_dataloader.dataset.pipeline +
    [dict(type='mmmaskreuse.AutoAugmentReuseView', to_rgb=False)]))
