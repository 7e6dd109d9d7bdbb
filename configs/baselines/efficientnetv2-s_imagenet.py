# Vanilla twin of maskanynet/efficientnetv2-s_imagenet.py: mmpretrain's
# EfficientNetV2-S ImageNet recipe unchanged (SGD, 100 epochs, 8 GPUs x 32,
# trained at 300 x 300, tested at 384 x 384).
_base_ = 'mmpretrain::efficientnet_v2/efficientnetv2-s_8xb32_in1k-384px.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)
