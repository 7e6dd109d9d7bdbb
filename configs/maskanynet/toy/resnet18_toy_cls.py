# MaskAnyNet twin of baselines/toy/resnet18_toy_cls.py (CPU-sized): 25 %
# Combined masks on an 8x8 grid of 8x8-pixel cells, in the authors'
# protocol as the full recipes: a sample is masked with probability 0.2,
# the others' reuse branch sees an AutoAugment (CIFAR-10 policy) copy.
# Toy A/Bs of prob and reuse view: docs/measured.md.
_base_ = '../../baselines/toy/resnet18_toy_cls.py'

model = dict(backbone=dict(type='mmmaskreuse.MaskResNet'))
data_preprocessor = dict(
    type='mmmaskreuse.MaskReuseClsDataPreprocessor',
    mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                        grid_size=(8, 8)),
    prob=0.2,
    reuse_view='augmented')
train_dataloader = dict(dataset=dict(
    pipeline=_base_.train_dataloader.dataset.pipeline +
    [dict(type='mmmaskreuse.AutoAugmentReuseView')]))
