# MaskAnyNet ConvNeXt-T on ImageNet: the recipe of baselines/
# convnext-t_imagenet.py; 25 % Combined masks on an 8x8 grid; the reuse
# image gets a 2 x 2 patchify stem. Masking follows Mixup/CutMix in the
# data preprocessor.
_base_ = '../baselines/convnext-t_imagenet.py'

model = dict(backbone=dict(type='mmmaskreuse.MaskConvNeXt'))
# The authors' protocol: a sample is masked with probability 0.2; the
# reuse branch of the others sees an AutoAugment (CIFAR-10 policy) copy of
# the image, made by the loader workers (docs/maskanynet.md).
data_preprocessor = dict(
    type='mmmaskreuse.MaskReuseClsDataPreprocessor',
    mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                        grid_size=(8, 8)),
    prob=0.2,
    reuse_view='augmented')
train_dataloader = dict(dataset=dict(
    pipeline=_base_.train_dataloader.dataset.pipeline +
    [dict(type='mmmaskreuse.AutoAugmentReuseView')]))
