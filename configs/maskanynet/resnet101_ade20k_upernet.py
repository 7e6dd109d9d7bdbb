# MaskAnyNet UperNet R-101 on ADE20K.
_base_ = './resnet50_ade20k_upernet.py'
model = dict(pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
