# Arm of the CPU CIFAR-10 A/B: every training sample masked (prob 1.0).
_base_ = '../cpu/resnet18-w16_cifar10.py'

data_preprocessor = dict(prob=1.0)
