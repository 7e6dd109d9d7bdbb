# Vanilla twin of maskanynet/swin-t_imagenet.py: mmpretrain's Swin-T
# ImageNet recipe unchanged (AdamW, 300 epochs, 16 GPUs x 64).
_base_ = 'mmpretrain::swin_transformer/swin-tiny_16xb64_in1k.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)
