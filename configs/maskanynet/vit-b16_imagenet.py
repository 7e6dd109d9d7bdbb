# MaskAnyNet ViT-B/16 on ImageNet: the recipe of baselines/
# vit-b16_imagenet.py; 25 % Combined masks on a 14x14 grid, one cell per
# 16-pixel patch; the reuse image gets an 8-pixel patch embedding. Masking
# follows Mixup/CutMix in the data preprocessor.
_base_ = '../baselines/vit-b16_imagenet.py'

model = dict(backbone=dict(type='mmmaskreuse.MaskViT'))
# The authors' protocol: a sample is masked with probability 0.2; the
# reuse branch of the others sees an AutoAugment (CIFAR-10 policy) copy of
# the image, made by the loader workers (docs/maskanynet.md).
data_preprocessor = dict(
    type='mmmaskreuse.MaskReuseClsDataPreprocessor',
    mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                        grid_size=(14, 14)),
    prob=0.2,
    reuse_view='augmented')
train_dataloader = dict(dataset=dict(
    pipeline=_base_.train_dataloader.dataset.pipeline +
    [dict(type='mmmaskreuse.AutoAugmentReuseView')]))
