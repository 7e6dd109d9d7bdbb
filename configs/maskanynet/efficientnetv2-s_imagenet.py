# MaskAnyNet EfficientNetV2-S on ImageNet: the recipe of baselines/
# efficientnetv2-s_imagenet.py; 25 % Combined masks on a 10x10 grid (30-px
# cells of its 300-px training crops); the reuse image gets the stem
# without its stride (the authors' dual-stem EfficientNetV2).
_base_ = '../baselines/efficientnetv2-s_imagenet.py'

model = dict(backbone=dict(type='mmmaskreuse.MaskEfficientNetV2'))
# The authors' protocol: a sample is masked with probability 0.2; the
# reuse branch of the others sees an AutoAugment (CIFAR-10 policy) copy of
# the image, made by the loader workers (docs/maskanynet.md).
data_preprocessor = dict(
    type='mmmaskreuse.MaskReuseClsDataPreprocessor',
    mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                        grid_size=(10, 10)),
    prob=0.2,
    reuse_view='augmented')
train_dataloader = dict(dataset=dict(
    pipeline=_base_.train_dataloader.dataset.pipeline +
    [dict(type='mmmaskreuse.AutoAugmentReuseView')]))
