"""The masking strategies as the analysis tools name them on the command
line (``Patch Grid Random Combined``), built into :class:`MaskReuse`."""
from typing import Optional, Sequence, Tuple

from mmmaskreuse.masking import MaskReuse

STRATEGIES = ('Patch', 'Grid', 'Random', 'Combined')
_WITH_PERIOD = ('Grid', 'Combined')


def cell_grid(grid_size: Sequence[int], img_size: int) -> Tuple[int, int]:
    """The cell grid ``(gh, gw)`` of ``--grid-size gh [gw]``, checked
    against the side of the square images it lies over.

    Raises:
        ValueError: If ``grid_size`` is not one or two values, or
            ``img_size`` is not divisible by it.
    """
    if len(grid_size) not in (1, 2):
        raise ValueError(f'--grid-size takes gh or gh gw, got {grid_size}')
    grid = (grid_size[0], grid_size[-1])
    if any(img_size % cells for cells in grid):
        raise ValueError(f'--img-size {img_size} is not divisible by the '
                         f'cell grid --grid-size {grid}')
    return grid


def grid_period(mask_ratio: float, grid_size: Sequence[int]) -> int:
    """The smallest Grid-mask period realising ``mask_ratio`` on the grid.

    A period ``p`` (in cells) must divide both grid sides and
    ``p * sqrt(mask_ratio)`` must be an integer: 2 for a ratio of 0.25 (the
    paper's setting), 4 for 0.0625 and 0.5625 (as the ratio ablation
    configs). Returns 2 when no period fits, so that building the mask
    generator raises its error naming the ratio.
    """
    side = mask_ratio**0.5 if mask_ratio > 0 else 0.
    for period in range(2, min(grid_size) + 1):
        if all(g % period == 0 for g in grid_size):
            cells = period * side
            if round(cells) >= 1 and abs(cells - round(cells)) < 1e-6:
                return period
    return 2


def build_mask_reuse(strategy: str,
                     mask_ratio: float,
                     grid_size: Sequence[int],
                     period: Optional[int] = None,
                     fill_value: float = 0.) -> MaskReuse:
    """``MaskReuse`` masking every sample with one strategy.

    Args:
        strategy (str): One of ``STRATEGIES``.
        mask_ratio (float): Fraction of the cells masked.
        grid_size (tuple[int, int]): Cells ``(gh, gw)``.
        period (int, optional): Period of Grid (and Combined) masks.
            Defaults to None (:func:`grid_period`).
        fill_value (float): Value of the masked pixels. Defaults to 0.

    Raises:
        ValueError: For an unknown strategy, or a ratio or period the grid
            cannot realise (the masking module's message).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f'unknown strategy {strategy!r}, expected one of '
                         f'{STRATEGIES}')
    cfg = dict(type=f'{strategy}Mask',
               mask_ratio=mask_ratio,
               grid_size=tuple(grid_size))
    if strategy in _WITH_PERIOD:
        cfg['period'] = period or grid_period(mask_ratio, grid_size)
    return MaskReuse(cfg, prob=1.0, fill_value=fill_value)
