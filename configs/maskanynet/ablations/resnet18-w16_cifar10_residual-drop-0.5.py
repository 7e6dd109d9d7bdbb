# Arm of the CPU CIFAR-10 A/B: the residual fusion with reuse dropout 0.5,
# which tools/model_converters/strip_reuse.py turns into a plain ResNet.
_base_ = '../cpu/resnet18-w16_cifar10.py'

model = dict(backbone=dict(fusion='residual', reuse_drop_prob=0.5))
