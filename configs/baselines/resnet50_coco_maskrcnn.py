# Vanilla twin of maskanynet/resnet50_coco_maskrcnn.py: mmdet's recipe, its
# ResNet-50 starting from the checkpoint that
# `tools/dist_train.sh configs/baselines/resnet50_imagenet.py 8` writes (the
# vanilla ImageNet recipe, on the schedule of MaskAnyNet's), so the A/B
# differs by the method alone, not by the pretraining. mmdet's torchvision
# start: ablations/resnet50_coco_maskrcnn_torchvision-init.py.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

model = dict(backbone=dict(init_cfg=dict(
    type='Pretrained',
    checkpoint='work_dirs/baselines/resnet50_imagenet/epoch_100.pth',
    prefix='backbone.')))
