"""Shots on a grid of cells: Conditional MAE on hierarchical encoders.

A Swin or a ConvNeXt keeps every position to the end, so a shot there does
not drop tokens: it marks *cells* of the image, squares of
``mask_patch_size`` pixels (32 for SimMIM and FCMAE), as masked. A cell mask
is a bool tensor [B, h, w] over the cell grid (``h = H / mask_patch_size``);
stage ``k`` of the encoder sees each cell as an ``s x s`` block of its
positions, ``s = h_k / h``. A shot masks a fraction of the cells *still
visible*: shot ``s`` keeps ``int(n * (1 - mask_ratio))`` of the ``n`` cells
visible before it, the rounding of :func:`~.token_shots.num_kept_tokens`,
so "fraction" means the same for a ViT token and a cell.

Pure tensor functions, no model: the encoders call them.
"""
from numbers import Integral, Real
from typing import Optional, Sequence, Tuple

import torch


def _is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def check_shots(mask_layers: Sequence[int],
                mask_ratios: Sequence[float],
                num_layers: int,
                unit: str = 'block') -> None:
    """Raise ``ValueError`` naming the argument if a shot spec is invalid.

    Args:
        mask_layers (Sequence[int]): Index of the block (ViT) or stage
            (Swin, ConvNeXt) before which each shot masks.
        mask_ratios (Sequence[float]): Ratio of each shot.
        num_layers (int): Blocks or stages of the encoder.
        unit (str): What ``mask_layers`` counts, for the messages.
            Defaults to 'block'.
    """
    for name, value in (('mask_layers', mask_layers),
                        ('mask_ratios', mask_ratios)):
        if not isinstance(value, (tuple, list)) or len(value) == 0:
            raise ValueError(f'{name} must be a non-empty tuple (one entry a '
                             f'shot), got {name}={value!r}')
    if len(mask_layers) != len(mask_ratios):
        raise ValueError(
            'mask_layers and mask_ratios must have one entry per shot, got '
            f'mask_layers={tuple(mask_layers)} ({len(mask_layers)} shots) '
            f'and mask_ratios={tuple(mask_ratios)} ({len(mask_ratios)})')
    if not all(_is_int(layer) for layer in mask_layers):
        raise ValueError(
            f'mask_layers must be ints, got mask_layers={mask_layers!r}')
    if mask_layers[0] != 0:
        raise ValueError(
            'the first shot masks the input: mask_layers[0] must be 0, got '
            f'mask_layers={tuple(mask_layers)}')
    if any(b <= a for a, b in zip(mask_layers, mask_layers[1:])):
        raise ValueError('mask_layers must be strictly increasing, got '
                         f'mask_layers={tuple(mask_layers)}')
    if mask_layers[-1] >= num_layers:
        raise ValueError(
            f'mask_layers must be < the depth {num_layers} ({unit}s; a shot '
            f'masks before a {unit}), got '
            f'mask_layers={tuple(mask_layers)}')
    for ratio in mask_ratios:
        if not (isinstance(ratio, Real) and not isinstance(ratio, bool)
                and 0 <= ratio < 1):
            raise ValueError('every mask ratio must be in [0, 1), got '
                             f'mask_ratios={tuple(mask_ratios)}')


def random_cell_keep(visible: torch.Tensor,
                     mask_ratio: float,
                     generator: Optional[torch.Generator] = None
                     ) -> torch.Tensor:
    """One shot: keep a random ``1 - mask_ratio`` of the visible cells.

    Args:
        visible (torch.Tensor): [B, h, w] bool, the cells visible before the
            shot (all True before the first).
        mask_ratio (float): Fraction of them to mask, in [0, 1).
        generator (torch.Generator, optional): Source of the random numbers.
            Defaults to None (the global generator).

    Returns:
        torch.Tensor: [B, h, w] bool, the cells visible after the shot:
        ``int(n_b * (1 - mask_ratio))`` of the ``n_b`` visible in sample
        ``b``, never a cell masked before.
    """
    batch_size = visible.shape[0]
    flat = visible.flatten(1)  # [B, h * w]
    # float64, as Python's int(n * (1 - r)) computes it
    num_keep = torch.floor(flat.sum(1).double() * (1 - mask_ratio))  # [B]
    source = generator.device if generator is not None else visible.device
    noise = torch.rand(flat.shape, generator=generator,
                       device=source).to(visible.device)  # [B, h * w]
    # masked cells sort after every visible one, so they are never kept
    noise = noise.masked_fill(~flat, 2.0)
    rank = noise.argsort(1).argsort(1)  # [B, h * w]
    kept = rank < num_keep.to(rank.dtype).unsqueeze(1)
    return kept.view(batch_size, *visible.shape[1:])


def cells_to_grid(cells: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Spread a cell mask over a finer grid of positions.

    Args:
        cells (torch.Tensor): [B, h, w].
        size (tuple[int, int]): (H, W), multiples of (h, w).

    Returns:
        torch.Tensor: [B, H, W], each cell repeated over its block.
    """
    height, width = size
    if height % cells.shape[1] or width % cells.shape[2]:
        raise ValueError(f'a {tuple(cells.shape[1:])} cell grid does not '
                         f'divide positions of size={tuple(size)}')
    return cells.repeat_interleave(height // cells.shape[1],
                                   1).repeat_interleave(
                                       width // cells.shape[2], 2)


def grid_to_cells(mask: torch.Tensor, cells: Tuple[int, int]) -> torch.Tensor:
    """The cells a position mask covers: a cell counts as masked where any
    of its positions is.

    Args:
        mask (torch.Tensor): [B, H, W], nonzero where masked.
        cells (tuple[int, int]): (h, w) that divide (H, W).

    Returns:
        torch.Tensor: [B, h, w] bool.
    """
    batch_size, height, width = mask.shape
    rows, cols = cells
    if height % rows or width % cols:
        raise ValueError(f'a ({rows}, {cols}) cell grid does not divide a '
                         f'mask of size {(height, width)}')
    blocks = mask.reshape(batch_size, rows, height // rows, cols,
                          width // cols)
    return blocks.ne(0).any(dim=4).any(dim=2)
