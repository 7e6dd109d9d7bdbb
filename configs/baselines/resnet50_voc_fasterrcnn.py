# Vanilla twin of maskanynet/resnet50_voc_fasterrcnn.py: mmdet's recipe.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)
