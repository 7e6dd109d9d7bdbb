# mmpretrain's CIFAR-10 ResNet-18 recipe (resnet18_8xb16_cifar10.py: 3x3
# stem, SGD lr 0.1, 200 epochs, steps at 100/150, 8 GPUs x 16) on CIFAR-10
# as JPEG class folders (tools/misc/prepare_cifar10.py). Vanilla twin of
# maskanynet/resnet18_cifar10.py.
_base_ = [
    'mmpretrain::_base_/models/resnet18_cifar.py',
    '../_base_/datasets/cifar10_folders.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)
