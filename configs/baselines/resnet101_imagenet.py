# Vanilla twin of maskanynet/resnet101_imagenet.py: mmpretrain's ResNet-101
# ImageNet recipe unchanged (SGD lr 0.1, 100 epochs, 8 GPUs x 32).
_base_ = 'mmpretrain::resnet/resnet101_8xb32_in1k.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)
