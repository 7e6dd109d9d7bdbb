import os.path as osp

import pytest
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from mmmaskreuse.engine import build_model
from mmmaskreuse.models import check_masked_pairing
from tests.conftest import read_recipe

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def classifier(backbone_type, preprocessor_type, backbone_ratio=0.25,
               mask_ratio=0.25):
    init_default_scope('mmpretrain')
    preprocessor = dict(type=preprocessor_type, num_classes=4)
    if preprocessor_type.startswith('mmmaskreuse'):
        preprocessor['mask_generator'] = dict(type='PatchMask',
                                              mask_ratio=mask_ratio)
    backbone = dict(type=backbone_type, depth=18)
    if backbone_type.startswith('mmmaskreuse'):
        backbone['mask_ratio'] = backbone_ratio
    return MODELS.build(
        dict(type='ImageClassifier',
             backbone=backbone,
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='LinearClsHead', num_classes=4, in_channels=512),
             data_preprocessor=preprocessor))


def test_matching_pair_passes():
    check_masked_pairing(
        classifier('mmmaskreuse.MaskResNet',
                   'mmmaskreuse.MaskReuseClsDataPreprocessor'))
    check_masked_pairing(classifier('ResNet', 'ClsDataPreprocessor'))


def test_mask_backbone_without_masking_preprocessor_says_which_to_use():
    model = classifier('mmmaskreuse.MaskResNet', 'ClsDataPreprocessor')
    with pytest.raises(ValueError,
                       match='MaskResNet needs .* set model.data_preprocessor'
                       ' type to mmmaskreuse.MaskReuseClsDataPreprocessor'):
        check_masked_pairing(model)


def test_masking_preprocessor_with_plain_backbone_says_which_to_use():
    model = classifier('ResNet', 'mmmaskreuse.MaskReuseClsDataPreprocessor')
    with pytest.raises(ValueError, match='use mmmaskreuse.MaskResNet'):
        check_masked_pairing(model)


def test_mask_ratios_must_agree():
    model = classifier('mmmaskreuse.MaskResNet',
                       'mmmaskreuse.MaskReuseClsDataPreprocessor',
                       backbone_ratio=0.25, mask_ratio=0.0625)
    with pytest.raises(ValueError, match='mask_ratio=0.25 but .* '
                       'mask_ratio=0.0625'):
        check_masked_pairing(model)


@pytest.mark.parametrize('config,plain_type,ours', [
    ('maskanynet/toy/resnet50_coco_maskrcnn_toy.py', 'DetDataPreprocessor',
     'mmmaskreuse.MaskReuseDetDataPreprocessor'),
    ('maskanynet/toy/resnet50_ade20k_upernet_toy.py', 'SegDataPreProcessor',
     'mmmaskreuse.MaskReuseSegDataPreprocessor'),
])
def test_detection_and_segmentation_pairs_name_their_preprocessor(
        config, plain_type, ours):
    cfg = read_recipe(osp.join(REPO, 'configs', config))
    check_masked_pairing(build_model(cfg))
    keep = {'mean', 'std', 'bgr_to_rgb', 'pad_size_divisor', 'size'}
    cfg.model.data_preprocessor = dict(
        type=plain_type,
        **{k: v for k, v in cfg.model.data_preprocessor.items() if k in keep})
    with pytest.raises(ValueError, match=f'type to {ours}'):
        check_masked_pairing(build_model(cfg))
