"""Entropy gain, feature similarity and their F-score (the paper's mask
strategy trade-off).

The paper scores a masking strategy by the information diversity its reuse
image adds (an entropy difference ΔH) against the semantic reliability of
the reuse image (its feature similarity to the original image), combined by
an F-score. It gives no formulas; the definitions used here are:

- **Entropy** ``H``: Shannon entropy in bits of the 256-bin grey-level
  histogram of an image (ITU-R BT.601 luma of RGB, rounded to 0..255),
  optionally over a subset of its pixels. 0 for a constant image, 8 for an
  image holding every level equally often.
- **Entropy gain** ``ΔH``: how much the grey levels of the reuse image,
  the auxiliary branch's input, differ from those the main branch still
  sees (the visible pixels of the masked image; the filled pixels are left
  out, they are one constant the strategy did not choose). With ``V`` the
  visible pixels, ``R`` the reuse image's pixels and ``n_V, n_R`` their
  counts::

      ΔH = H(V ∪ R) - (n_V H(V) + n_R H(R)) / (n_V + n_R)

  the entropy of the pooled pixels (= the original image's histogram) minus
  the pixel-weighted mean entropy of the two parts: the mutual information,
  in bits, between a pixel's grey level and the branch it goes to. It is 0
  when the reuse image repeats the visible grey-level distribution (a
  redundant reuse image) and at most the binary entropy of the mask ratio
  (<= 1 bit) when it holds grey levels the masked image lacks. The plain
  difference ``H(R) - H(V)`` was rejected: it mostly measures how many
  pixels each part has (a smaller sample, or a local block, has a lower
  plug-in entropy): on the toy data it is -1.0 to +0.04 bits, negative for
  10 of 12 strategy/ratio pairs, so it cannot be normalised by its
  maximum. The plug-in estimate
  is biased upwards for small reuse images; Random masks, whose reuse
  pixels are a random sample of the image, show that floor.
- **Similarity**: cosine similarity of globally pooled features of the reuse
  image and of the original image, by default after subtracting the mean
  feature of the original images of the dataset (``center`` of
  :func:`cosine_similarity`). Pooled features after a ReLU share a large
  positive mean, so their raw cosine is high for any two images (on the toy
  data 0.90 for a random ResNet-18 and 0.99 for a trained one, for
  unrelated image pairs) and barely tells strategies apart; centred,
  unrelated images score about 0 and identical ones 1.
- **F-score**: harmonic mean ``2ab / (a + b)`` of ``a = ΔH / max ΔH`` (the
  maximum over the strategies and ratios compared) and ``b`` = similarity,
  both clipped to [0, 1] (see :func:`f_score`).

Every function works on a batch at once; nothing loops over pixels.
"""
import math
from typing import Optional

import torch

from mmmaskreuse.masking import cell_mask_to_pixels

NUM_LEVELS = 256
# ITU-R BT.601 luma, as PIL's convert('L')
_LUMA = (0.299, 0.587, 0.114)


def grey_levels(images: torch.Tensor) -> torch.Tensor:
    """Integer grey levels of images with values in [0, 255].

    Args:
        images (Tensor): [B, 3, H, W] RGB or [B, 1, H, W] grey images,
            values in [0, 255].

    Returns:
        Tensor: Long levels in 0..255 of shape [B, H, W].
    """
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError('images must have shape [B, 1 or 3, H, W], got '
                         f'{tuple(images.shape)}')
    if images.shape[1] == 3:
        weights = images.new_tensor(_LUMA, dtype=torch.float32)
        grey = torch.einsum('bchw,c->bhw', images.float(), weights)
    else:
        grey = images[:, 0].float()
    return grey.round().clamp(0, NUM_LEVELS - 1).long()


def grey_histogram(images: torch.Tensor,
                   valid: Optional[torch.Tensor] = None) -> torch.Tensor:
    """256-bin grey-level histograms, one per sample.

    Args:
        images (Tensor): [B, 3 or 1, H, W], values in [0, 255].
        valid (Tensor, optional): Bool [B, H, W], the pixels to count.
            Defaults to None (all pixels).

    Returns:
        Tensor: Float pixel counts of shape [B, 256].
    """
    levels = grey_levels(images)
    batch = levels.shape[0]
    # one bincount for the batch: sample b owns bins [256 b, 256 (b + 1))
    offsets = torch.arange(batch, device=levels.device) * NUM_LEVELS
    index = (levels + offsets[:, None, None]).flatten()
    weights = None
    if valid is not None:
        if valid.shape != levels.shape:
            raise ValueError(f'valid must have shape {tuple(levels.shape)}, '
                             f'got {tuple(valid.shape)}')
        weights = valid.flatten().float()
    counts = torch.bincount(index, weights, minlength=batch * NUM_LEVELS)
    return counts.float().view(batch, NUM_LEVELS)


def histogram_entropy(histograms: torch.Tensor) -> torch.Tensor:
    """Shannon entropy in bits of histograms [B, K] (counts or weights).

    Returns:
        Tensor: [B]; NaN for an empty histogram.
    """
    probs = histograms / histograms.sum(-1, keepdim=True)
    return -torch.special.xlogy(probs, probs).sum(-1) / math.log(2)


def grey_entropy(images: torch.Tensor,
                 valid: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Entropy in bits of the grey levels of each image (or of its
    ``valid`` pixels [B, H, W]), shape [B]. 0 <= H <= 8."""
    return histogram_entropy(grey_histogram(images, valid))


def entropy_gain(reuse_image: torch.Tensor, masked_image: torch.Tensor,
                 cell_mask: torch.Tensor) -> torch.Tensor:
    """Entropy gain ΔH of reuse images over masked images, in bits.

    ``ΔH = H(V ∪ R) - (n_V H(V) + n_R H(R)) / (n_V + n_R)`` for the visible
    pixels ``V`` of the masked image and the pixels ``R`` of the reuse image
    (see the module docstring).

    Args:
        reuse_image (Tensor): [B, C, h, w], values in [0, 255].
        masked_image (Tensor): [B, C, H, W], values in [0, 255].
        cell_mask (Tensor): Bool [B, gh, gw], True = masked (left out).

    Returns:
        Tensor: [B], in [0, 1] bit up to rounding.
    """
    visible = ~cell_mask_to_pixels(cell_mask, masked_image.shape[-2:])
    reuse_hist = grey_histogram(reuse_image)
    visible_hist = grey_histogram(masked_image, visible)
    reuse_count, visible_count = reuse_hist.sum(-1), visible_hist.sum(-1)
    mean_part_entropy = (
        reuse_count * histogram_entropy(reuse_hist) +
        visible_count * histogram_entropy(visible_hist)) / (reuse_count +
                                                            visible_count)
    return histogram_entropy(reuse_hist + visible_hist) - mean_part_entropy


def pooled_features(features) -> torch.Tensor:
    """[B, D] features from a model's output: the last of a tuple, global
    average pooled over H, W if it is a [B, D, H, W] map."""
    if isinstance(features, (tuple, list)):
        features = features[-1]
    if features.dim() == 4:
        features = features.mean(dim=(2, 3))
    if features.dim() != 2:
        raise ValueError('expected [B, D] or [B, D, H, W] features, got '
                         f'{tuple(features.shape)}')
    return features


def cosine_similarity(features: torch.Tensor,
                      reference: torch.Tensor,
                      center: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Cosine similarity per sample of two feature batches.

    Args:
        features (Tensor): [B, D], or [B, D, H, W] (average pooled first).
        reference (Tensor): Same shape as ``features``.
        center (Tensor, optional): [D], subtracted from both first, e.g.
            the mean reference feature over a dataset. Defaults to None.

    Returns:
        Tensor: [B], in [-1, 1].
    """
    features = pooled_features(features).float()
    reference = pooled_features(reference).float()
    if center is not None:
        features, reference = features - center, reference - center
    return torch.nn.functional.cosine_similarity(features, reference, dim=1)


def normalise_by_max(values: torch.Tensor) -> torch.Tensor:
    """``values / values.max()``, clipped to [0, 1]; all zeros when no value
    is positive (no strategy adds diversity)."""
    values = torch.as_tensor(values, dtype=torch.float64)
    top = values.max() if values.numel() else values.new_tensor(0.)
    if top <= 0:
        return torch.zeros_like(values)
    return (values / top).clamp(0, 1)


def f_score(diversity: torch.Tensor,
            similarity: torch.Tensor) -> torch.Tensor:
    """Harmonic mean ``F = 2ab / (a + b)`` of ``a`` = normalised entropy gain
    and ``b`` = similarity, both clipped to [0, 1]; 0 where ``a + b = 0``.

    Args:
        diversity (Tensor): Normalised ΔH, e.g. from :func:`normalise_by_max`.
        similarity (Tensor): Cosine similarity, same shape.

    Returns:
        Tensor: F in [0, 1], same shape.
    """
    a = torch.as_tensor(diversity, dtype=torch.float64).clamp(0, 1)
    b = torch.as_tensor(similarity, dtype=torch.float64).clamp(0, 1)
    total = a + b
    return torch.where(total > 0, 2 * a * b / total.clamp_min(1e-12),
                       torch.zeros_like(total))
