"""Test-time corruptions of the robustness table: exact on hand-made
images."""
import pytest
import torch

from mmmaskreuse.masking import PatchCorruption


def _patch_rows(images, patch):
    """[B, C, H, W] -> [B, N, C * p * p], raster order."""
    batch, channels = images.shape[:2]
    return images.unfold(2, patch, patch).unfold(3, patch, patch).permute(
        0, 2, 3, 1, 4, 5).reshape(batch, -1, channels * patch * patch)


def test_occlusion_sets_exactly_half_of_the_patches_to_the_fill():
    images = torch.rand(3, 3, 224, 224) + 1  # no pixel is 0
    occluded = PatchCorruption('occlude')(images, [5, 6, 7])
    rows, before = _patch_rows(occluded, 16), _patch_rows(images, 16)
    zero = (rows == 0).all(-1)
    assert zero.sum(1).tolist() == [98, 98, 98]  # half of 14 x 14
    assert torch.equal(rows[~zero], before[~zero])  # the rest untouched
    assert not torch.equal(zero[0], zero[1])  # each sample its own half


def test_shuffling_keeps_the_multiset_of_patches():
    images = torch.rand(2, 3, 64, 48)
    shuffled = PatchCorruption('shuffle', patch_size=16)(images, [0, 1])
    rows, before = _patch_rows(shuffled, 16), _patch_rows(images, 16)
    assert not torch.equal(rows, before)
    for got, want in zip(rows, before):
        # each patch is still there once, moved as a whole
        match = (got[:, None] == want[None]).all(-1)
        assert match.sum(0).eq(1).all() and match.sum(1).eq(1).all()


def test_a_sample_is_corrupted_alike_in_any_batch():
    images = torch.rand(4, 3, 32, 32)
    for kind in ('occlude', 'shuffle'):
        corrupt = PatchCorruption(kind, seed=3)
        whole = corrupt(images, [10, 11, 12, 13])
        assert torch.equal(corrupt(images[2:3], [12]), whole[2:3])
        assert not torch.equal(PatchCorruption(kind, seed=4)(
            images, [10, 11, 12, 13]), whole)


@pytest.mark.parametrize('kwargs,message', [
    (dict(type='blur'), "one of ('occlude', 'shuffle'), got 'blur'"),
    (dict(type='occlude', ratio=0), 'ratio must be in (0, 1], got 0'),
    (dict(type='shuffle', patch_size=0), 'positive int, got 0'),
])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(
            ')', r'\)')):
        PatchCorruption(**kwargs)


def test_an_image_the_patches_do_not_tile_is_refused():
    with pytest.raises(ValueError, match=r'\(30, 32\) is not divisible by '
                       'patch_size=16'):
        PatchCorruption('occlude')(torch.rand(1, 3, 30, 32))
