"""t-SNE of patch features (Conditional MAE, Fig. 10): the features of
every patch position of the backbone's last block or stage, embedded in 2-D
by scikit-learn's t-SNE, coloured by the image's class; and a number to
compare models by, the share of each point's nearest neighbours that are
of its class."""
from typing import Optional

import numpy as np
import torch
from torch import nn

from .cam import default_target_layer, find_layer
from .models import run_backbone
from .representations import recording_outputs


def patch_features(model: nn.Module, inputs: torch.Tensor,
                   layer: Optional[str] = None) -> torch.Tensor:
    """Per-position features [B, N, C] of ``layer`` (default: the last
    stage of a CNN, the last block of a transformer) on normalised
    ``inputs``, nothing masked. Feature maps [B, C, h, w] give their h * w
    positions; ViT tokens [B, E + N, C] their N patch tokens (the
    backbone's ``num_extra_tokens``, default 1, dropped)."""
    module = find_layer(model, layer or default_target_layer(model))
    with torch.no_grad(), recording_outputs([module]) as recorded:
        run_backbone(model.backbone, inputs)
    output = recorded[0][-1]
    if output.dim() == 4:
        return output.flatten(2).transpose(1, 2)
    if output.dim() == 3:
        extra = getattr(model.backbone, 'num_extra_tokens', 1)
        return output[:, extra:]
    raise ValueError(f'{layer}: output of shape {tuple(output.shape)} is '
                     'neither a feature map nor tokens')


def tsne_embedding(features: np.ndarray, perplexity: float = 30.,
                   seed: int = 0) -> np.ndarray:
    """2-D t-SNE [P, 2] of ``features`` [P, C] (PCA initialisation, seeded:
    the same features give the same points). The perplexity is capped at
    (P - 1) / 3, what t-SNE allows for P points."""
    from sklearn.manifold import TSNE
    count = len(features)
    if count < 4:
        raise ValueError(f't-SNE needs 4 points or more, got {count}')
    perplexity = min(perplexity, (count - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, init='pca',
                random_state=seed).fit_transform(
                    np.asarray(features, dtype=np.float64))


def neighbour_agreement(points: np.ndarray, labels: np.ndarray,
                        k: int = 5) -> float:
    """Mean share of each point's ``k`` nearest other points (Euclidean)
    that have its label: 1 for classes apart, about the share of a class
    for points mixed at random."""
    points = torch.as_tensor(np.asarray(points), dtype=torch.float64)
    labels = torch.as_tensor(np.asarray(labels))
    distances = torch.cdist(points, points)
    distances.fill_diagonal_(float('inf'))
    nearest = distances.topk(k, largest=False).indices
    return (labels[nearest] == labels[:, None]).double().mean().item()
