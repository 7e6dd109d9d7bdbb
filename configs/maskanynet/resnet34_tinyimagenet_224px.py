# MaskAnyNet ResNet-34 on Tiny-ImageNet at 224 px, the authors' setting: the
# recipe of baselines/resnet34_tinyimagenet_224px.py (standard stem); 25 %
# Combined masks, fused after the stem: a Patch on an 8x8 grid of 28-pixel
# cells, or the authors' Grid at the scale of their code, which masks the
# 64-px image before resizing it: cells of 4-16 source pixels
# (14-56 px here), not of 4-16 input pixels.
_base_ = '../baselines/resnet34_tinyimagenet_224px.py'

model = dict(backbone=dict(type='mmmaskreuse.MaskResNet'))
# The authors' protocol, as in resnet34_tinyimagenet.py.
data_preprocessor = dict(
    type='mmmaskreuse.MaskReuseClsDataPreprocessor',
    mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                        grid_size=(8, 8), grid='authors', source_size=64),
    prob=0.2,
    reuse_view='augmented')
train_dataloader = dict(dataset=dict(
    pipeline=_base_.train_dataloader.dataset.pipeline +
    [dict(type='mmmaskreuse.AutoAugmentReuseView')]))
