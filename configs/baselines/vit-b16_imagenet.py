# Vanilla twin of maskanynet/vit-b16_imagenet.py: mmpretrain's ViT-B/16
# ImageNet recipe from scratch unchanged (AdamW, 300 epochs, 64 GPUs x 64).
_base_ = 'mmpretrain::vision_transformer/vit-base-p16_64xb64_in1k.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)
