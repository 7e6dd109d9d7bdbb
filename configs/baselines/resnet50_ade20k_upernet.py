# Vanilla twin of maskanynet/resnet50_ade20k_upernet.py: mmseg's recipe.
_base_ = 'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)
