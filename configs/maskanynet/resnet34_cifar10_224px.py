# MaskAnyNet ResNet-34 on CIFAR-10 at 224 px, the authors' setting: the
# recipe of baselines/resnet34_cifar10_224px.py with 25 % Combined masks
# (a Patch on an 8x8 grid of 28-pixel cells, or the authors' Grid at their
# scale: cells of 4-16 source pixels) fused after the stem, in the
# authors' protocol (prob 0.2, the AutoAugment reuse view). The full-size
# form of maskanynet/cpu/resnet18-w16_cifar10.py.
_base_ = '../baselines/resnet34_cifar10_224px.py'

model = dict(backbone=dict(type='mmmaskreuse.MaskResNet'))
data_preprocessor = dict(
    type='mmmaskreuse.MaskReuseClsDataPreprocessor',
    mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                        grid_size=(8, 8), grid='authors', source_size=32),
    prob=0.2,
    reuse_view='augmented')
train_dataloader = dict(dataset=dict(
    pipeline=_base_.train_dataloader.dataset.pipeline +
    [dict(type='mmmaskreuse.AutoAugmentReuseView')]))
