"""t-SNE of patch features: the agreement measure, the embedding and the
features, on hand-made inputs."""
import numpy as np
import pytest
import torch
from torch import nn

from mmmaskreuse.analysis import (neighbour_agreement, patch_features,
                                  tsne_embedding)


def test_neighbour_agreement_of_apart_and_of_interleaved_classes():
    line = np.arange(12.)[:, None].repeat(2, 1)
    apart = np.concatenate([np.zeros((6, 2)), np.full((6, 2), 100.)])
    apart += np.random.default_rng(0).normal(size=apart.shape)
    assert neighbour_agreement(apart, np.arange(12) // 6, k=5) == 1.0
    # alternating classes on a line: an inner point's two nearest are both
    # of the other class, an end point's one of two
    assert neighbour_agreement(line, np.arange(12) % 2,
                               k=2) == pytest.approx(1 / 12)


def test_tsne_keeps_two_clusters_apart_and_repeats_under_a_seed():
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(0, 1, (30, 16)),
                               rng.normal(8, 1, (30, 16))])
    labels = np.arange(60) // 30
    points = tsne_embedding(features, seed=3)
    assert points.shape == (60, 2)
    assert neighbour_agreement(points, labels) == 1.0
    assert np.array_equal(tsne_embedding(features, seed=3), points)
    with pytest.raises(ValueError, match='4 points or more, got 3'):
        tsne_embedding(features[:3])


class _Model(nn.Module):

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone


def test_patch_features_of_a_feature_map_and_of_vit_tokens():
    cnn = nn.Module()
    cnn.layer4 = nn.Conv2d(3, 5, 2, stride=2)
    cnn.forward = lambda x: (cnn.layer4(x), )
    model, inputs = _Model(cnn), torch.randn(2, 3, 8, 6)
    features = patch_features(model, inputs)
    assert torch.equal(features,
                       cnn.layer4(inputs).detach().flatten(2).transpose(1, 2))
    assert features.shape == (2, 12, 5)

    vit = nn.Module()
    vit.num_extra_tokens = 1
    vit.layers = nn.ModuleList([nn.Linear(4, 4), nn.Identity()])
    vit.forward = lambda x: vit.layers[1](vit.layers[0](x))
    tokens = torch.randn(2, 1 + 9, 4)
    features = patch_features(_Model(vit), tokens)
    assert torch.equal(features, vit.layers[0](tokens).detach()[:, 1:])
