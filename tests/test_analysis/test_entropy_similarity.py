"""Claims about the entropy gain, feature similarity and F-score."""
import math

import pytest
import torch

from mmmaskreuse.analysis import (build_mask_reuse, cell_grid,
                                  cosine_similarity,
                                  entropy_gain, f_score, grey_entropy,
                                  grey_histogram, grid_period,
                                  normalise_by_max)
from mmmaskreuse.masking import mask_and_reuse


def random_images(batch=5, size=32, seed=0):
    rng = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, 3, size, size), generator=rng,
                         dtype=torch.uint8).float()


def binary_entropy(p):
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def test_constant_image_has_zero_entropy():
    images = torch.full((2, 3, 16, 16), 77.)
    assert torch.equal(grey_entropy(images), torch.zeros(2))


def test_image_with_every_grey_level_once_has_8_bits():
    levels = torch.arange(256.).view(1, 1, 16, 16)
    assert grey_entropy(levels).item() == pytest.approx(8)
    # R = G = B keeps the level through the luma weights
    assert grey_entropy(levels.expand(1, 3, 16, 16)).item() == pytest.approx(8)


def test_histogram_counts_only_valid_pixels():
    images = random_images(batch=3)
    valid = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(1))
    histograms = grey_histogram(images, valid > 0.5)
    assert torch.equal(histograms.sum(1), (valid > 0.5).sum((1, 2)).float())


def test_batched_entropy_equals_per_image():
    images = random_images()
    valid = torch.rand(5, 32, 32) > 0.3
    batched = grey_entropy(images, valid)
    single = torch.cat([grey_entropy(image[None], mask[None])
                        for image, mask in zip(images, valid)])
    torch.testing.assert_close(batched, single)


def test_entropy_gain_is_zero_when_the_reuse_image_repeats_what_is_visible():
    # every 4 x 4 cell holds the same pixels: any cell subset has one
    # histogram
    cell = torch.arange(16.).view(1, 1, 4, 4) * 16
    images = cell.repeat(4, 3, 8, 8)
    mask_reuse = build_mask_reuse('Random', 0.25, (8, 8))
    masked, reuse, cell_mask = mask_reuse(images)
    torch.testing.assert_close(entropy_gain(reuse, masked, cell_mask),
                               torch.zeros(4), atol=1e-6, rtol=0)


def test_reuse_image_of_new_grey_levels_gains_the_binary_entropy_of_ratio():
    # black image, white where the Patch mask cuts: the reuse image holds
    # only levels the masked image lacks
    cell_mask = torch.zeros(1, 8, 8, dtype=torch.bool)
    cell_mask[0, 2:6, 1:5] = True
    images = torch.zeros(1, 3, 32, 32)
    images[..., 8:24, 4:20] = 255
    masked, reuse = mask_and_reuse(images, cell_mask, (4, 4), fill_value=0)
    gain = entropy_gain(reuse, masked, cell_mask)
    assert gain.item() == pytest.approx(binary_entropy(0.25), abs=1e-6)


def test_batched_entropy_gain_equals_per_image():
    images = random_images(batch=6, size=64)
    mask_reuse = build_mask_reuse('Combined', 0.25, (8, 8))
    masked, reuse, cell_mask = mask_reuse(
        images, torch.Generator().manual_seed(0))
    batched = entropy_gain(reuse, masked, cell_mask)
    single = torch.cat([
        entropy_gain(r[None], m[None], c[None])
        for r, m, c in zip(reuse, masked, cell_mask)
    ])
    torch.testing.assert_close(batched, single)
    assert (batched >= -1e-6).all() and (batched <= 1).all()


def test_cosine_similarity_of_identical_features_is_one():
    features = torch.randn(4, 8, 3, 3)
    torch.testing.assert_close(cosine_similarity(features, features),
                               torch.ones(4))
    center = torch.randn(8)
    torch.testing.assert_close(cosine_similarity(features, features, center),
                               torch.ones(4))


def test_cosine_similarity_pools_maps_and_centres():
    maps = torch.tensor([1., 0.]).view(1, 2, 1, 1).expand(1, 2, 4, 4)
    other = torch.tensor([[0., 1.]])
    assert cosine_similarity(maps, other).item() == pytest.approx(0)
    # both share the mean (1, 1): centred they point opposite ways
    center = torch.tensor([1., 1.])
    features = torch.tensor([[2., 1.]])
    reference = torch.tensor([[0., 1.]])
    assert cosine_similarity(features, reference,
                             center).item() == pytest.approx(-1)


def test_f_score_is_the_harmonic_mean():
    diversity = torch.tensor([1., 0.5, 0.0, 0.8])
    similarity = torch.tensor([1., 0.5, 0.9, 0.2])
    expected = torch.tensor([1., 0.5, 0., 2 * 0.8 * 0.2 / 1.0],
                            dtype=torch.float64)
    torch.testing.assert_close(f_score(diversity, similarity), expected)
    # negative similarity counts as none
    assert f_score(torch.tensor([0.5]), torch.tensor([-0.3])).item() == 0


def test_normalise_by_max():
    gains = torch.tensor([0.1, 0.4, -0.2])
    torch.testing.assert_close(normalise_by_max(gains),
                               torch.tensor([0.25, 1., 0.],
                                            dtype=torch.float64))
    assert normalise_by_max(torch.tensor([-1., 0.])).tolist() == [0., 0.]


@pytest.mark.parametrize('ratio,period', [(0.25, 2), (0.0625, 4),
                                          (0.5625, 4), (1 / 16 / 4, 8)])
def test_grid_period_realises_the_ratio(ratio, period):
    assert grid_period(ratio, (8, 8)) == period
    build_mask_reuse('Grid', ratio, (8, 8))


def test_ratio_the_grid_cannot_realise_names_the_ratio():
    with pytest.raises(ValueError, match='mask_ratio=0.3 cannot be realised'):
        build_mask_reuse('Grid', 0.3, (8, 8))
    with pytest.raises(ValueError, match='unknown strategy'):
        build_mask_reuse('Checker', 0.25, (8, 8))


def test_cell_grid_of_the_command_line():
    assert cell_grid([8], 64) == (8, 8)
    assert cell_grid([8, 4], 64) == (8, 4)
    with pytest.raises(ValueError, match='--img-size 60 is not divisible'):
        cell_grid([8], 60)
