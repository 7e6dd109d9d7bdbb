# Vanilla twin of maskanynet/resnet50_coco_maskrcnn.py: mmdet's recipe.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)
