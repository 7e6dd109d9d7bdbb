# Mask strategy ablation: Random masks only (25 %).
_base_ = '../resnet34_cifar100.py'
data_preprocessor = dict(mask_generator=dict(type='RandomMask'))
