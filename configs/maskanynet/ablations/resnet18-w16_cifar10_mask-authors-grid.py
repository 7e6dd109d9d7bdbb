# Arm of the CPU CIFAR-10 A/B: the authors' Grid (cells of 4-16 px of the
# 32-px image, every second cell, AuthorsGridMask) instead of the default
# Combined masks; the authors' protocol otherwise.
_base_ = '../cpu/resnet18-w16_cifar10.py'

data_preprocessor = dict(
    mask_generator=dict(_delete_=True, type='AuthorsGridMask'))
