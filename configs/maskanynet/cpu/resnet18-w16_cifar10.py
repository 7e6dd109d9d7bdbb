# MaskAnyNet twin of baselines/cpu/resnet18-w16_cifar10.py (the CPU-sized
# CIFAR-10 A/B): the authors' protocol of maskanynet/resnet18_cifar10.py.
_base_ = '../../baselines/cpu/resnet18-w16_cifar10.py'

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
