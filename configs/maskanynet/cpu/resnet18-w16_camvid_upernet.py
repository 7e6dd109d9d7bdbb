# MaskAnyNet twin of baselines/cpu/resnet18-w16_camvid_upernet.py (the
# CPU-sized CamVid A/B): the method of maskanynet/resnet50_camvid_upernet.py
# (25 % Combined masks on an 8x8 grid laid over each crop, concat fusion)
# on the CIFAR trunk; from scratch, so nothing is frozen and the reuse
# branch trains.
_base_ = '../../baselines/cpu/resnet18-w16_camvid_upernet.py'

model = dict(
    data_preprocessor=dict(
        type='mmmaskreuse.MaskReuseSegDataPreprocessor',
        mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                            grid_size=(8, 8))),
    backbone=dict(type='mmmaskreuse.MaskResNetCIFAR', freeze_reuse=False))
