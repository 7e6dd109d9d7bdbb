# mmseg's UperNet R-50 (ResNetV1c from the ImageNet checkpoint mmseg names,
# SGD lr 0.01, poly decay, 40k iterations) on CamVid as SegNet prepared it
# (tools/misc/prepare_camvid.py): 11 classes, 360 x 480 crops. Vanilla twin
# of maskanynet/resnet50_camvid_upernet.py.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    '../_base_/datasets/camvid.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

num_classes = 11
model = dict(
    data_preprocessor=dict(size=_base_.crop_size),
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))
