"""The measures of the Conditional MAE paper's analyses on hand-made
inputs."""
import math

import pytest
import torch

from mmmaskreuse.analysis import (MinibatchCKA, attention_distance_entropy,
                                  max_entropy, patch_attention,
                                  patch_distances)


def test_distances_are_in_pixels_between_patch_centres():
    d = patch_distances((2, 3), 16)
    assert d.shape == (6, 6)
    assert d[0, 1] == 16 and d[0, 3] == 16  # right, below
    assert d[0, 5] == pytest.approx(16 * math.sqrt(1 + 4))
    assert torch.equal(d, d.T) and not d.diagonal().any()


def test_uniform_attention_has_entropy_log_n_and_the_mean_distance():
    grid, n, heads = (4, 5), 20, 3
    uniform = torch.full((2, heads, n, n), 1 / n)
    distance, entropy = attention_distance_entropy(uniform, grid, 16)
    assert entropy == pytest.approx(torch.full((heads, ), max_entropy(n)))
    mean_pairwise = patch_distances(grid, 16).mean()
    assert distance == pytest.approx(torch.full((heads, ), mean_pairwise))


def test_attention_on_self_has_no_entropy_and_no_distance():
    self_only = torch.eye(16).expand(2, 4, 16, 16)
    distance, entropy = attention_distance_entropy(self_only, (4, 4), 16)
    assert not distance.any() and not entropy.any()


def test_heads_are_measured_apart():
    n = 9
    far = torch.zeros(n, n)
    far[:, 0] = 1  # every patch looks at the top-left one
    attention = torch.stack([torch.eye(n), far])[None]
    distance, entropy = attention_distance_entropy(attention, (3, 3), 10)
    assert distance[0] == 0
    assert distance[1] == pytest.approx(patch_distances((3, 3), 10)[0].mean())
    assert not entropy.any()


def test_patch_attention_drops_the_class_token_and_renormalises():
    attention = torch.softmax(torch.randn(2, 3, 5, 5), -1)
    patches = patch_attention(attention)
    assert patches.shape == (2, 3, 4, 4)
    torch.testing.assert_close(patches.sum(-1), torch.ones(2, 3, 4))
    torch.testing.assert_close(
        patches, attention[..., 1:, 1:] / attention[..., 1:, 1:].sum(
            -1, keepdim=True))


def test_a_bad_attention_shape_is_named():
    with pytest.raises(ValueError, match=r'N = h \* w = 16.*\(2, 3, 9, 9\)'):
        attention_distance_entropy(torch.ones(2, 3, 9, 9), (4, 4), 16)


def features(seed, n=16, dims=(8, 12)):
    rng = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=rng) for d in dims]


def cka(batches_a, batches_b):
    meter = MinibatchCKA(len(batches_a[0]), len(batches_b[0]))
    for a, b in zip(batches_a, batches_b):
        meter.update(a, b)
    return meter.compute()


def test_cka_of_a_representation_with_itself_is_one():
    batches = [features(0), features(1)]
    matrix = cka(batches, batches)
    torch.testing.assert_close(matrix.diagonal(),
                               torch.ones(2, dtype=torch.float64))
    assert (matrix.fill_diagonal_(0).abs() < 0.9).all()


def test_cka_ignores_rotations_and_isotropic_scaling():
    batches = [features(0), features(1)]
    q, _ = torch.linalg.qr(torch.randn(12, 12,
                                       generator=torch.Generator()
                                       .manual_seed(5)))
    changed = [[a * 3.5, b @ q] for a, b in batches]
    torch.testing.assert_close(cka(batches, changed), cka(batches, batches))


def test_cka_is_not_invariant_to_anisotropic_scaling():
    batches = [features(0), features(1)]
    stretched = [[a * torch.linspace(0.1, 10, 8), b] for a, b in batches]
    assert cka(batches, stretched)[0, 0] < 0.99


def test_cka_of_independent_features_is_near_zero():
    """The unbiased estimator: no positive bias from the batch size."""
    a = [features(seed, n=64, dims=(32, )) for seed in range(4)]
    b = [features(seed + 100, n=64, dims=(32, )) for seed in range(4)]
    assert abs(cka(a, b)[0, 0]) < 0.1


def test_cka_needs_matching_batches():
    meter = MinibatchCKA(2, 2)
    with pytest.raises(ValueError, match='expected 2 layers of A'):
        meter.update(features(0)[:1], features(1))
    with pytest.raises(ValueError, match=r'n >= 4.*\[3\]'):
        meter.update(features(0, n=3), features(1, n=3))
    with pytest.raises(RuntimeError, match='before any update'):
        meter.compute()


def test_recorded_attention_is_the_one_each_block_applies():
    """softmax(q k^T / sqrt(d)) times v gives what mmpretrain's fused
    kernel fed the output projection, block by block."""
    from mmpretrain.models import VisionTransformer

    from mmmaskreuse.analysis import recording_attention, recording_outputs
    torch.manual_seed(0)
    vit = VisionTransformer(arch='deit-tiny', img_size=32, patch_size=8)
    vit.eval()
    blocks = [layer.attn for layer in vit.layers]
    mixed = []
    hooks = [b.proj.register_forward_pre_hook(
        lambda _, args: mixed.append(args[0])) for b in blocks]
    with recording_attention(vit) as attentions, recording_outputs(
            [b.qkv for b in blocks]) as qkvs:
        vit(torch.randn(2, 3, 32, 32))
    for hook in hooks:
        hook.remove()
    assert len(attentions) == len(mixed) == 12
    for attention, (qkv, ), block, out in zip(attentions, qkvs, blocks,
                                              mixed):
        assert attention.shape == (2, 3, 17, 17)
        v = qkv.reshape(2, 17, 3, 3, 64)[:, :, 2].transpose(1, 2)
        torch.testing.assert_close((attention @ v).transpose(1, 2).reshape(
            2, 17, 192), out, rtol=1e-4, atol=1e-5)
