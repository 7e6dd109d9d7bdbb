# MaskAnyNet ResNet-34 on CIFAR-100 at 224 px, the authors' setting: the
# recipe of baselines/resnet34_cifar100_224px.py (standard stem); 25 %
# Combined masks, fused after the stem: a Patch on an 8x8 grid of 28-pixel
# cells, or the authors' Grid at the scale of their code, which masks the
# 32-px image before resizing it: cells of 4-16 source pixels
# (28-112 px here), not of 4-16 input pixels.
_base_ = '../baselines/resnet34_cifar100_224px.py'

model = dict(backbone=dict(type='mmmaskreuse.MaskResNet'))
# The authors' protocol, as in resnet34_cifar100.py.
data_preprocessor = dict(
    type='mmmaskreuse.MaskReuseClsDataPreprocessor',
    mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                        grid_size=(8, 8), grid='authors', source_size=32),
    prob=0.2,
    reuse_view='augmented')
train_dataloader = dict(dataset=dict(
    pipeline=_base_.train_dataloader.dataset.pipeline +
    [dict(type='mmmaskreuse.AutoAugmentReuseView', to_rgb=False)]))
