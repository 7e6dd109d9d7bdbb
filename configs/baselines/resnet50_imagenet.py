# Vanilla twin of maskanynet/resnet50_imagenet.py: mmpretrain's ResNet-50
# ImageNet recipe unchanged (SGD lr 0.1, 100 epochs, 8 GPUs x 32).
_base_ = 'mmpretrain::resnet/resnet50_8xb32_in1k.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)
