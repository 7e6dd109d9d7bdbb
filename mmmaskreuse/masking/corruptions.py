"""Test-time corruptions of Conditional MAE's robustness table (Tab. 9):
occlusion of a random part of the patches, and a random shuffle of the
patches.

Both work on normalised batches [B, C, H, W] on their device. Each
sample's randomness comes from its own seed, ``seed`` plus its dataset
index, so a sample is corrupted the same way whatever the batch size, the
number of processes or the order of the test set.
"""
from typing import Optional, Sequence

import torch

CORRUPTIONS = ('occlude', 'shuffle')


def patch_keys(sample_ids: Sequence[int], num_patches: int, seed: int,
               device: torch.device) -> torch.Tensor:
    """Float [B, num_patches] of random keys, one CPU generator per sample
    seeded with ``seed + sample_id``; sorting a row gives that sample's
    random order of the patches."""
    keys = [
        torch.rand(num_patches,
                   generator=torch.Generator().manual_seed(seed + int(i)))
        for i in sample_ids
    ]
    return torch.stack(keys).to(device)


def _patches(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """[B, C, H, W] -> [B, N, C, p, p] in raster order."""
    batch, channels, height, width = images.shape
    if height % patch_size or width % patch_size:
        raise ValueError(f'image size {(height, width)} is not divisible by '
                         f'patch_size={patch_size}')
    rows, cols = height // patch_size, width // patch_size
    return images.reshape(batch, channels, rows, patch_size, cols,
                          patch_size).permute(0, 2, 4, 1, 3, 5).reshape(
                              batch, rows * cols, channels, patch_size,
                              patch_size)


def _image(patches: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Inverse of :func:`_patches`."""
    batch, _, channels, patch_size, _ = patches.shape
    rows, cols = height // patch_size, width // patch_size
    return patches.reshape(batch, rows, cols, channels, patch_size,
                           patch_size).permute(0, 3, 1, 4, 2, 5).reshape(
                               batch, channels, height, width)


def occlude_patches(images: torch.Tensor, keys: torch.Tensor,
                    patch_size: int, ratio: float,
                    fill_value: float = 0.) -> torch.Tensor:
    """Sets ``round(ratio * N)`` of each image's N patches (those with the
    smallest ``keys``) to ``fill_value`` (0 after normalisation: the mean
    colour)."""
    height, width = images.shape[-2:]
    patches = _patches(images, patch_size)
    count = round(ratio * patches.shape[1])
    occluded = torch.zeros_like(keys, dtype=torch.bool)
    occluded.scatter_(1, keys.argsort(1)[:, :count], True)
    patches = patches.masked_fill(occluded[:, :, None, None, None],
                                  fill_value)
    return _image(patches, height, width)


def shuffle_patches(images: torch.Tensor, keys: torch.Tensor,
                    patch_size: int) -> torch.Tensor:
    """Puts each image's patches in the order of its ``keys``."""
    height, width = images.shape[-2:]
    patches = _patches(images, patch_size)
    order = keys.argsort(1)[:, :, None, None, None].expand_as(patches)
    return _image(patches.gather(1, order), height, width)


class PatchCorruption:
    """One test-time corruption of a normalised batch.

    Args:
        type (str): ``'occlude'`` (a random ``ratio`` of the patches set to
            ``fill_value``) or ``'shuffle'`` (a random permutation of the
            patches).
        patch_size (int): Side of a patch in pixels. Defaults to 16 (the
            paper's).
        ratio (float): Fraction of the patches occluded, in (0, 1].
            Defaults to 0.5 (the paper's). Unused by ``'shuffle'``.
        fill_value (float): Value of occluded pixels after normalisation.
            Defaults to 0.
        seed (int): Seed of sample 0; sample ``i`` uses ``seed + i``.
            Defaults to 0.
    """

    def __init__(self,
                 type: str,
                 patch_size: int = 16,
                 ratio: float = 0.5,
                 fill_value: float = 0.,
                 seed: int = 0) -> None:
        if type not in CORRUPTIONS:
            raise ValueError(
                f'corruption type must be one of {CORRUPTIONS}, got {type!r}')
        if not isinstance(patch_size, int) or patch_size < 1:
            raise ValueError(
                f'patch_size must be a positive int, got {patch_size!r}')
        if not 0 < ratio <= 1:
            raise ValueError(f'ratio must be in (0, 1], got {ratio!r}')
        self.type = type
        self.patch_size = patch_size
        self.ratio = ratio
        self.fill_value = fill_value
        self.seed = int(seed)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(type={self.type!r}, '
                f'patch_size={self.patch_size}, ratio={self.ratio}, '
                f'seed={self.seed})')

    def __call__(self,
                 images: torch.Tensor,
                 sample_ids: Optional[Sequence[int]] = None) -> torch.Tensor:
        """Corrupts ``images`` [B, C, H, W]; ``sample_ids`` (default 0..B-1)
        are the samples' dataset indices."""
        if sample_ids is None:
            sample_ids = range(images.shape[0])
        patch = self.patch_size
        num_patches = (images.shape[-2] // patch) * (images.shape[-1] // patch)
        keys = patch_keys(sample_ids, num_patches, self.seed, images.device)
        if self.type == 'occlude':
            return occlude_patches(images, keys, patch, self.ratio,
                                   self.fill_value)
        return shuffle_patches(images, keys, patch)
