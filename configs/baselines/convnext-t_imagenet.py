# Vanilla twin of maskanynet/convnext-t_imagenet.py: mmpretrain's ConvNeXt-T
# ImageNet recipe unchanged (AdamW, 300 epochs, 32 GPUs x 128).
_base_ = 'mmpretrain::convnext/convnext-tiny_32xb128_in1k.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)
