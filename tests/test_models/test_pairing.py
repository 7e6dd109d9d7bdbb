import os.path as osp

import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmmaskreuse.engine import build_model
from mmmaskreuse.masking import MaskedInputs, resize_image
from mmmaskreuse.models import (MaskReuseClsDataPreprocessor,
                                check_masked_pairing)
from mmmaskreuse.models.data_preprocessors.cls import other_label_partners
from tests.conftest import read_recipe

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def classifier(backbone_type, preprocessor_type, backbone_ratio=0.25,
               mask_ratio=0.25, **backbone_kwargs):
    init_default_scope('mmpretrain')
    preprocessor = dict(type=preprocessor_type, num_classes=4)
    if preprocessor_type.startswith('mmmaskreuse'):
        preprocessor['mask_generator'] = dict(type='PatchMask',
                                              mask_ratio=mask_ratio)
    backbone = dict(type=backbone_type, depth=18, **backbone_kwargs)
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


# The reuse ablation's other image: each test image paired with one of
# another label (a class-sorted test set puts images of one class side by
# side, so "the previous image of the batch" was nearly always the same
# class).

def labelled_batch(labels, first_index=0, size=64):
    images = [torch.rand(3, size, size) * 255 for _ in labels]
    samples = [
        DataSample(metainfo=dict(sample_idx=first_index + i)).set_gt_label(
            label) for i, label in enumerate(labels)
    ]
    return dict(inputs=images, data_samples=samples)


def test_other_label_partners_are_of_another_label_uniformly_and_seeded():
    labels = torch.tensor([0] * 5 + [1] * 3 + [2] * 2)  # class-sorted
    partners = other_label_partners(labels, torch.Generator().manual_seed(0))
    assert partners.dtype == torch.int64 and partners.shape == (10, )
    assert (labels[partners] != labels).all()
    again = other_label_partners(labels, torch.Generator().manual_seed(0))
    assert torch.equal(partners, again)
    generator = torch.Generator().manual_seed(1)
    drawn = torch.stack(
        [other_label_partners(labels, generator) for _ in range(500)])
    # sample 0 draws each of the 5 images of labels 1 and 2 about equally
    counts = torch.bincount(drawn[:, 0], minlength=10)
    assert counts[:5].sum() == 0 and counts[5:].min() > 70


def test_a_batch_of_one_label_cannot_be_paired_and_says_how_to_fix_it():
    with pytest.raises(ValueError, match='single label 3: shuffle the test '
                       r'set .*test_dataloader.sampler.shuffle=True'):
        other_label_partners(torch.tensor([3, 3, 3]))


def test_the_reuse_branch_sees_an_image_of_another_label_at_test():
    """Through the classifier's ``test_step``: the reuse stem of each image
    sees the downsampled image of one of another label; the same batch is
    paired alike again (seeded by its first ``sample_idx``)."""
    model = classifier('mmmaskreuse.MaskResNet',
                       'mmmaskreuse.MaskReuseClsDataPreprocessor')
    model.data_preprocessor.other_image_at_test = True
    model.eval()
    seen = []
    model.backbone.reuse_stem.register_forward_hook(
        lambda module, args, out: seen.append(args[0]))
    labels = [0, 0, 0, 1, 1, 2]
    batch = labelled_batch(labels, first_index=6)
    with torch.no_grad():
        model.test_step(batch)
        model.test_step(batch)
    images = torch.stack(batch['inputs'])
    own = resize_image(images, (32, 32))
    assert torch.equal(seen[0], seen[1])
    for i, reuse in enumerate(seen[0]):
        matches = [j for j in range(len(labels))
                   if torch.equal(reuse, own[j])]
        assert len(matches) == 1 and labels[matches[0]] != labels[i]


def test_other_image_needs_labels_and_is_off_by_default():
    preprocessor = MaskReuseClsDataPreprocessor(
        other_image_at_test=True, num_classes=4)
    batch = labelled_batch([0, 1])
    assert isinstance(preprocessor(batch)['inputs'], MaskedInputs)
    for sample in batch['data_samples']:
        del sample.gt_label
    with pytest.raises(KeyError, match='needs one gt_label'):
        preprocessor(batch)
    plain = MaskReuseClsDataPreprocessor(num_classes=4)
    assert torch.is_tensor(plain(labelled_batch([0, 1]))['inputs'])
    with pytest.raises(ValueError, match='other_image_at_test must be'):
        MaskReuseClsDataPreprocessor(other_image_at_test='yes')


def test_the_backbone_points_other_image_to_the_data_preprocessor():
    with pytest.raises(ValueError, match="'other_image' moved to the data "
                       'preprocessor.*other_image_at_test=True'):
        classifier('mmmaskreuse.MaskResNet',
                   'mmmaskreuse.MaskReuseClsDataPreprocessor',
                   reuse_at_test='other_image')
    model = classifier('mmmaskreuse.MaskResNet',
                       'mmmaskreuse.MaskReuseClsDataPreprocessor',
                       reuse_at_test='zeros')
    model.data_preprocessor.other_image_at_test = True
    with pytest.raises(ValueError, match="reuse_at_test='zeros': ask for one"):
        check_masked_pairing(model)
