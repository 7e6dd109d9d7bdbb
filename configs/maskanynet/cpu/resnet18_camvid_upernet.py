# MaskAnyNet twin of baselines/cpu/resnet18_camvid_upernet.py (the CPU-sized
# CamVid A/B): the method of maskanynet/resnet50_camvid_upernet.py; from
# scratch, so nothing is frozen and the reuse branch trains.
_base_ = '../../baselines/cpu/resnet18_camvid_upernet.py'

model = dict(
    data_preprocessor=dict(
        type='mmmaskreuse.MaskReuseSegDataPreprocessor',
        mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                            grid_size=(8, 8))),
    backbone=dict(type='mmmaskreuse.MaskResNetV1c', freeze_reuse=False))
