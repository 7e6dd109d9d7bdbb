"""What a ViT's layers attend to and how two models' layers relate: the
measures of the Conditional MAE paper's analyses (attention distance and
entropy per layer and head, Fig. 5 and 16-19; layer-by-layer CKA, Fig. 4
and 15). Pure functions on batched tensors; the tools that run models on
images build on them.
"""
import math
from contextlib import contextmanager
from functools import partial
from typing import List, Sequence, Tuple

import torch


def patch_attention(attention: torch.Tensor,
                    num_extra_tokens: int = 1) -> torch.Tensor:
    """The attention of patch queries over patch keys.

    The rows and columns of the extra tokens (the class token) are dropped
    and each row is renormalised to sum to 1, so the result is the
    distribution of a patch's attention over the other patches (the part
    given to the class token left out).

    Args:
        attention (Tensor): Softmax attention [..., N + E, N + E], the E
            extra tokens first, as mmpretrain's ViT orders them.
        num_extra_tokens (int): E. Defaults to 1.

    Returns:
        Tensor: [..., N, N], rows summing to 1.
    """
    patches = attention[..., num_extra_tokens:, num_extra_tokens:]
    return patches / patches.sum(-1, keepdim=True).clamp_min(1e-12)


def patch_distances(grid: Sequence[int],
                    patch_size: int,
                    device=None) -> torch.Tensor:
    """Euclidean distance in pixels between the centres of every two
    patches of an ``(h, w)`` patch grid, [h * w, h * w] (row-major)."""
    h, w = grid
    rows, cols = torch.meshgrid(torch.arange(h, device=device),
                                torch.arange(w, device=device),
                                indexing='ij')
    centres = torch.stack([rows.flatten(), cols.flatten()], 1).double()
    return torch.cdist(centres, centres) * patch_size


def attention_distance_entropy(
        attention: torch.Tensor, grid: Sequence[int],
        patch_size: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Mean attention distance and entropy of each head.

    For a query patch with attention ``p`` over the key patches, the
    entropy is ``-sum p log p`` (nats) and the distance ``sum p * d``, ``d``
    the pixel distance between the centres of query and key patch. Both are
    averaged over the query patches and the batch.

    Args:
        attention (Tensor): Patch-over-patch attention [B, heads, N, N]
            with rows summing to 1 (see :func:`patch_attention`),
            ``N = h * w``.
        grid (tuple[int, int]): The patch grid ``(h, w)``.
        patch_size (int): Pixels per patch side.

    Returns:
        tuple[Tensor, Tensor]: distance and entropy per head, float64
        [heads] each.
    """
    num = attention.shape[-1]
    if attention.dim() != 4 or attention.shape[-2] != num or (
            num != grid[0] * grid[1]):
        raise ValueError('attention must be [B, heads, N, N] with N = '
                         f'h * w = {grid[0] * grid[1]} patches, got '
                         f'{tuple(attention.shape)}')
    p = attention.double()
    distance = (p * patch_distances(grid, patch_size, p.device)).sum(-1)
    entropy = -torch.xlogy(p, p).sum(-1)
    return distance.mean((0, 2)), entropy.mean((0, 2))


def max_entropy(num_keys: int) -> float:
    """Entropy of uniform attention over ``num_keys`` keys, ``log N``."""
    return math.log(num_keys)


def _unbiased_hsic(gram_x: torch.Tensor, gram_y: torch.Tensor) -> torch.Tensor:
    """The unbiased HSIC estimator of Song et al. (2012), as Nguyen et al.
    (2021) use it for minibatch CKA, from two [n, n] Gram matrices
    (n >= 4)."""
    n = gram_x.shape[0]
    k = gram_x.clone().fill_diagonal_(0)
    lam = gram_y.clone().fill_diagonal_(0)
    ones_k, ones_l = k.sum(0), lam.sum(0)  # 1^T K, 1^T L
    trace = (k * lam).sum()
    return (trace + ones_k.sum() * ones_l.sum() / ((n - 1) * (n - 2)) -
            2 * (ones_k @ ones_l) / (n - 2)) / (n * (n - 3))


class MinibatchCKA:
    """Linear CKA between every layer of model A and every layer of model B,
    accumulated over minibatches (Nguyen, Raghu and Kornblith, 2021).

    For each minibatch, the linear Gram matrix ``X X^T`` of each layer's
    flattened features is formed; the unbiased HSIC of every pair is summed
    over minibatches, and
    ``CKA(A_i, B_j) = sum HSIC(A_i, B_j) / sqrt(sum HSIC(A_i, A_i) *
    sum HSIC(B_j, B_j))``. Unlike CKA on one big batch, this is unbiased
    in the batch size and needs memory for one batch only.

    Args:
        num_layers_a (int): Layers of model A.
        num_layers_b (int): Layers of model B.
    """

    def __init__(self, num_layers_a: int, num_layers_b: int) -> None:
        self.cross = torch.zeros(num_layers_a, num_layers_b,
                                 dtype=torch.float64)
        self.self_a = torch.zeros(num_layers_a, dtype=torch.float64)
        self.self_b = torch.zeros(num_layers_b, dtype=torch.float64)
        self.batches = 0

    @staticmethod
    def _grams(features: Sequence[torch.Tensor]):
        grams = []
        for feature in features:
            flat = feature.detach().flatten(1).double()
            grams.append(flat @ flat.T)
        return grams

    def update(self, features_a: Sequence[torch.Tensor],
               features_b: Sequence[torch.Tensor]) -> None:
        """Add one minibatch: each model's layer features [n, ...], the same
        n >= 4 images for both."""
        if (len(features_a) != len(self.self_a)
                or len(features_b) != len(self.self_b)):
            raise ValueError(
                f'expected {len(self.self_a)} layers of A and '
                f'{len(self.self_b)} of B, got {len(features_a)} and '
                f'{len(features_b)}')
        sizes = {f.shape[0] for f in (*features_a, *features_b)}
        if len(sizes) != 1 or min(sizes) < 4:
            raise ValueError('every layer needs the same n >= 4 images of '
                             f'the minibatch, got batch sizes {sorted(sizes)}')
        grams_a, grams_b = self._grams(features_a), self._grams(features_b)
        for i, gram_a in enumerate(grams_a):
            self.self_a[i] += _unbiased_hsic(gram_a, gram_a).cpu()
            for j, gram_b in enumerate(grams_b):
                self.cross[i, j] += _unbiased_hsic(gram_a, gram_b).cpu()
        for j, gram_b in enumerate(grams_b):
            self.self_b[j] += _unbiased_hsic(gram_b, gram_b).cpu()
        self.batches += 1

    def compute(self) -> torch.Tensor:
        """CKA [num_layers_a, num_layers_b] over the minibatches so far."""
        if not self.batches:
            raise RuntimeError('MinibatchCKA.compute before any update')
        return self.cross / torch.sqrt(self.self_a[:, None] *
                                       self.self_b[None, :])


def vit_attention_layers(backbone: torch.nn.Module) -> List[torch.nn.Module]:
    """The attention modules of a ViT's blocks (mmpretrain's
    ``VisionTransformer`` and its subclasses: ``layers[i].attn``, each with
    ``qkv``, ``num_heads`` and ``head_dims``)."""
    layers = getattr(backbone, 'layers', None)
    attentions = [getattr(layer, 'attn', None) for layer in layers or ()]
    if not attentions or not all(
            hasattr(a, 'qkv') and hasattr(a, 'num_heads')
            for a in attentions):
        raise TypeError(f'{type(backbone).__name__} is not a ViT with '
                        'mmpretrain attention blocks (layers[i].attn.qkv)')
    return attentions


@contextmanager
def recording_attention(backbone: torch.nn.Module):
    """Record the softmax attention of every ViT block while the backbone
    runs: yields a list that gets, per block and forward pass, the
    attention [B, heads, T, T] over all T tokens.

    mmpretrain's attention calls torch's fused kernel, which returns no
    weights; they are recomputed from each block's ``qkv`` output as
    ``softmax(q k^T / sqrt(head_dims))``, the scale of its default
    ``qk_scale=None``.
    """
    recorded: List[torch.Tensor] = []

    def record(attention, _, __, qkv):
        batch, tokens, _ = qkv.shape
        q, k, _ = qkv.reshape(batch, tokens, 3, attention.num_heads,
                              attention.head_dims).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-2, -1) * attention.head_dims**-0.5
        recorded.append(scores.softmax(-1).detach())

    handles = [
        a.qkv.register_forward_hook(partial(record, a))
        for a in vit_attention_layers(backbone)
    ]
    try:
        yield recorded
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def recording_outputs(modules: Sequence[torch.nn.Module]):
    """Record the output tensor (the first one of a tuple) of each of
    ``modules`` while a model runs: yields a list of per-module lists."""
    recorded: List[List[torch.Tensor]] = [[] for _ in modules]

    def record(index, _, __, output):
        if isinstance(output, (tuple, list)):
            output = output[0]
        recorded[index].append(output.detach())

    handles = [
        module.register_forward_hook(partial(record, index))
        for index, module in enumerate(modules)
    ]
    try:
        yield recorded
    finally:
        for handle in handles:
            handle.remove()
