import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from mmmaskreuse.masking import MaskedInputs
from mmmaskreuse.models import MaskReuseClsDataPreprocessor
from mmmaskreuse.models.data_preprocessors import (
    MaskReuseDetDataPreprocessor, base)
from tests.test_models.test_task_data_preprocessors import NORM, det_batch


def batch(num=4, size=64):
    images = [torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
              for _ in range(num)]
    samples = [DataSample().set_gt_label(i % 4) for i in range(num)]
    return dict(inputs=images, data_samples=samples)


def preprocessor(**kwargs):
    kwargs.setdefault('mask_generator',
                      dict(type='CombinedMask', mask_ratio=0.25))
    return MaskReuseClsDataPreprocessor(mean=[128.] * 3, std=[64.] * 3,
                                        num_classes=4, **kwargs)


def test_training_batches_become_masked_pairs_with_exact_area():
    data = preprocessor()(batch(), training=True)
    pair = data['inputs']
    assert isinstance(pair, MaskedInputs)
    assert pair.masked_image.shape == (4, 3, 64, 64)
    assert pair.reuse_image.shape == (4, 3, 32, 32)
    # fill value 0 after normalisation; exactly a quarter of the pixels
    cells = pair.cell_mask.repeat_interleave(8, 1).repeat_interleave(8, 2)
    assert cells.float().mean() == 0.25
    for sample, mask in zip(pair.masked_image, cells):
        assert (sample[:, mask] == 0).all()


def test_reuse_image_holds_the_normalised_masked_pixels():
    raw = batch()
    plain = preprocessor()(raw, training=False)['inputs']
    pair = preprocessor()(raw, training=True)['inputs']
    cells = pair.cell_mask.repeat_interleave(8, 1).repeat_interleave(8, 2)
    for image, reuse, mask in zip(plain, pair.reuse_image, cells):
        assert torch.equal(image[:, mask].sort(1).values,
                           reuse.flatten(1).sort(1).values)


def test_evaluation_batches_are_untouched():
    raw = batch()
    data = preprocessor()(raw, training=False)
    assert torch.is_tensor(data['inputs'])
    expected = (torch.stack(raw['inputs']).float() - 128) / 64
    assert torch.allclose(data['inputs'], expected)


def test_masking_is_deterministic_under_a_seed():
    raw = batch()
    torch.manual_seed(3)
    first = preprocessor()(raw, training=True)['inputs']
    torch.manual_seed(3)
    second = preprocessor()(raw, training=True)['inputs']
    assert torch.equal(first.cell_mask, second.cell_mask)
    assert torch.equal(first.reuse_image, second.reuse_image)


def det_preprocessor(**kwargs):
    return MaskReuseDetDataPreprocessor(
        **NORM, pad_size_divisor=32,
        mask_generator=dict(type='CombinedMask', mask_ratio=0.25), **kwargs)


def det_batches(num):
    """``num`` padded detection samples (three sizes, in turn)."""
    batches = [det_batch() for _ in range(-(-num // 3))]
    return {key: sum((b[key] for b in batches), [])[:num]
            for key in ('inputs', 'data_samples')}


@pytest.mark.parametrize('make_preprocessor,make_batch',
                         [(preprocessor, batch),
                          (det_preprocessor, det_batches)])
def test_every_rank_draws_its_own_masks_and_a_seed_repeats_them(
        monkeypatch, make_preprocessor, make_batch):
    """mmengine seeds every rank alike by default: the ranks of one run
    still mask differently (masks and ``prob`` coin flips), and a rank
    rerun with the same seed masks as before, whatever else drew from
    torch's global generator in between."""

    def cell_masks(rank, seed):
        monkeypatch.setattr(base, 'get_rank', lambda: rank)
        torch.manual_seed(seed)  # what mmengine's Runner does on each rank
        pre, raw = make_preprocessor(prob=0.5), make_batch(16)
        masks = []
        for _ in range(2):
            masks.append(pre(raw, training=True)['inputs'].cell_mask)
            torch.rand(100)  # e.g. dropout, proposal sampling
        return torch.stack(masks)

    rank0, rank1 = cell_masks(0, seed=3), cell_masks(1, seed=3)
    assert not torch.equal(rank0, rank1)
    # the coin flips differ too: not the same samples left unmasked
    assert not torch.equal(rank0.flatten(2).any(2), rank1.flatten(2).any(2))
    assert torch.equal(cell_masks(0, seed=3), rank0)
    assert torch.equal(cell_masks(1, seed=3), rank1)
    assert not torch.equal(cell_masks(0, seed=4), rank0)


def test_batch_augments_run_before_masking():
    pre = preprocessor(batch_augments=dict(
        augments=dict(type='Mixup', alpha=1.0)))
    data = pre(batch(), training=True)
    assert isinstance(data['inputs'], MaskedInputs)
    # Mixup turned labels into soft scores
    assert data['data_samples'][0].gt_score.shape == (4, )


def test_prob_zero_keeps_images_and_downsamples():
    raw = batch()
    plain = preprocessor()(raw, training=False)['inputs']
    pair = preprocessor(prob=0.)(raw, training=True)['inputs']
    assert torch.equal(pair.masked_image, plain)
    assert not pair.cell_mask.any()


def test_bad_mask_settings_fail_at_build():
    with pytest.raises(ValueError, match='prob must be in'):
        preprocessor(prob=1.5)
    with pytest.raises(ValueError, match='cannot be realised'):
        preprocessor(mask_generator=dict(type='PatchMask', mask_ratio=0.3))
    with pytest.raises(ValueError, match="unknown mask strategy .*Hexagon"):
        preprocessor(mask_generator=dict(type='HexagonMask'))


def with_views(data, views):
    for sample, view in zip(data['data_samples'], views):
        sample.set_field(view, 'reuse_img')
    return data


MIXUP = dict(augments=dict(type='Mixup', alpha=1.0))


@pytest.mark.parametrize('batch_augments', [None, MIXUP])
def test_the_augmented_view_goes_the_images_way(batch_augments):
    """A view equal to its image gives what 'downsample' gives, with Mixup
    too: the view is normalised like the image and mixed with its draws."""
    raw = batch(size=32)
    kwargs = dict(prob=0.5, batch_augments=batch_augments)
    torch.manual_seed(0)
    np.random.seed(0)  # Mixup's lambda
    plain = preprocessor(**kwargs)(raw, training=True)['inputs']
    torch.manual_seed(0)
    np.random.seed(0)
    augmented = preprocessor(reuse_view='augmented', **kwargs)(
        with_views(raw, raw['inputs']), training=True)['inputs']
    for ours, theirs in zip(augmented, plain):
        torch.testing.assert_close(ours, theirs)
    kept = ~augmented.cell_mask.flatten(1).any(1)
    assert kept.any() and not kept.all()


def test_unmasked_samples_reuse_the_view_masked_ones_their_cells():
    raw = batch(size=32)
    views = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
             for _ in raw['inputs']]
    torch.manual_seed(1)
    plain = preprocessor(prob=0.5)(raw, training=True)['inputs']
    torch.manual_seed(1)
    pre = preprocessor(prob=0.5, reuse_view='augmented')
    pair = pre(with_views(raw, views), training=True)['inputs']
    kept = ~pair.cell_mask.flatten(1).any(1)
    assert kept.any() and not kept.all()
    normalised = (torch.stack(views).float() - 128) / 64
    expected = pre.mask_reuse.downsample(normalised)
    torch.testing.assert_close(pair.reuse_image[kept], expected[kept])
    torch.testing.assert_close(pair.reuse_image[~kept],
                               plain.reuse_image[~kept])
    assert torch.equal(pair.masked_image, plain.masked_image)


def test_the_augmented_view_needs_the_pipelines_copy():
    with pytest.raises(ValueError, match="reuse_view must be one of"):
        preprocessor(reuse_view='autoaugment')
    pre = preprocessor(reuse_view='augmented')
    with pytest.raises(KeyError, match='AutoAugmentReuseView'):
        pre(batch(), training=True)
    # evaluation needs no copy
    assert torch.is_tensor(pre(batch(), training=False)['inputs'])


@pytest.mark.parametrize('kind', ['plain', 'maskanynet'])
def test_test_corruption_acts_on_normalised_evaluation_batches(kind):
    """Half of the 16-px patches of each test image are 0 after
    normalisation, as seeded by its sample_idx; training is untouched."""
    from mmmaskreuse.masking import PatchCorruption
    from mmmaskreuse.models import CorruptedClsDataPreprocessor
    corruption = dict(type='occlude', seed=1)
    if kind == 'plain':
        build = CorruptedClsDataPreprocessor(
            mean=[128.] * 3, std=[64.] * 3, num_classes=4,
            test_corruption=corruption)
    else:
        build = preprocessor(test_corruption=corruption)
    data = batch(num=2)
    for index, sample in enumerate(data['data_samples']):
        sample.set_metainfo(dict(sample_idx=7 + index))
    clean = preprocessor()(dict(data), training=False)['inputs']
    corrupted = build(dict(data), training=False)['inputs']
    patches = corrupted.unfold(2, 16, 16).unfold(3, 16, 16)
    zero = (patches == 0).flatten(start_dim=-2).all(-1).all(1)  # [B, 4, 4]
    assert zero.flatten(1).sum(1).tolist() == [8, 8]
    assert torch.equal(corrupted,
                       PatchCorruption(**corruption)(clean, [7, 8]))
    if kind == 'plain':
        assert torch.equal(build(dict(data), training=True)['inputs'], clean)


def test_test_corruption_needs_sample_indices():
    build = preprocessor(test_corruption=dict(type='shuffle'))
    with pytest.raises(KeyError, match="keep 'sample_idx'"):
        build(batch(num=2), training=False)
