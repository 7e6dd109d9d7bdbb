"""Cell masks of MaskAnyNet: Patch, Grid, Random and Combined.

A mask lives on a grid of ``grid_size=(gh, gw)`` cells laid over the image.
Every strategy masks exactly ``rh * rw`` cells per sample, where
``(rh, rw) = (gh * sqrt(r), gw * sqrt(r))`` for ``r = mask_ratio``: the
masked cells are later stitched into an ``rh x rw`` arrangement of cells, the
reuse image (see :func:`mmmaskreuse.masking.mask_and_reuse`). The ratios a
grid can realise are therefore checked when a generator is built.

Masks are sampled in a batch on the requested device. Random numbers are
drawn on the device of the given ``torch.Generator`` (or on the target device
without one) and then moved, so a CPU generator with a fixed seed gives the
same masks on every device.
"""
import math
from numbers import Integral, Real
from typing import Optional, Sequence, Tuple, Union

import torch

from mmmaskreuse.registry import MASK_GENERATORS

DeviceType = Union[str, torch.device, None]


def _check_grid_size(grid_size: Sequence[int]) -> Tuple[int, int]:
    if (not isinstance(grid_size, (tuple, list)) or len(grid_size) != 2
            or not all(
                isinstance(g, Integral) and not isinstance(g, bool) and g > 0
                for g in grid_size)):
        raise ValueError('grid_size must be two positive ints (gh, gw), '
                         f'got {grid_size!r}')
    return int(grid_size[0]), int(grid_size[1])


def _cells_per_side(cells: int, mask_ratio: float, name: str) -> int:
    """``cells * sqrt(mask_ratio)`` if that is a positive integer."""
    side = cells * math.sqrt(mask_ratio)
    if round(side) < 1 or abs(side - round(side)) > 1e-6:
        raise ValueError(
            f'mask_ratio={mask_ratio!r} cannot be realised: {name}={cells} '
            f'times sqrt(mask_ratio) is {side:.6g}, not a positive integer')
    return round(side)


def _random_source(device: torch.device,
                   generator: Optional[torch.Generator]) -> torch.device:
    return generator.device if generator is not None else device


def _uniform(shape: Tuple[int, ...], device: torch.device,
             generator: Optional[torch.Generator]) -> torch.Tensor:
    """Uniform numbers in [0, 1) of ``shape`` on ``device``."""
    noise = torch.rand(shape,
                       generator=generator,
                       device=_random_source(device, generator))
    return noise.to(device)


def _randint(high: int, shape: Tuple[int, ...], device: torch.device,
             generator: Optional[torch.Generator]) -> torch.Tensor:
    """Uniform integers in [0, high) of ``shape`` on ``device``."""
    values = torch.randint(high,
                           shape,
                           generator=generator,
                           device=_random_source(device, generator))
    return values.to(device)


def _window(length: int,
            start: torch.Tensor,
            size: int,
            period: Optional[int] = None) -> torch.Tensor:
    """[B, length] bool: positions in ``[start, start + size)`` (per period).

    Args:
        length (int): Number of cells along the axis.
        start (Tensor): First masked cell of each sample, shape [B].
        size (int): Masked cells in a row (per period).
        period (int, optional): Repeat the window with this period.
            Defaults to None (one window).
    """
    position = torch.arange(length, device=start.device)
    if period is not None:
        position = position % period
    start = start[:, None]
    return (position >= start) & (position < start + size)


class BaseMaskGenerator:
    """Base of the cell-mask strategies.

    Args:
        mask_ratio (float): Fraction of the cells masked, in (0, 1).
            ``grid_size[i] * sqrt(mask_ratio)`` must be integers.
            Defaults to 0.25.
        grid_size (tuple[int, int]): Cells ``(gh, gw)`` over the image;
            the image height and width must be divisible by them.
            Defaults to (8, 8).
    """

    def __init__(self,
                 mask_ratio: float = 0.25,
                 grid_size: Sequence[int] = (8, 8)) -> None:
        if (not isinstance(mask_ratio, Real) or isinstance(mask_ratio, bool)
                or not 0 < mask_ratio < 1):
            raise ValueError(
                f'mask_ratio must be in (0, 1), got {mask_ratio!r}')
        self.mask_ratio = float(mask_ratio)
        self.grid_size = _check_grid_size(grid_size)
        self.reuse_grid = (_cells_per_side(self.grid_size[0], self.mask_ratio,
                                           'grid_size[0]'),
                           _cells_per_side(self.grid_size[1], self.mask_ratio,
                                           'grid_size[1]'))

    @property
    def num_masked(self) -> int:
        """Masked cells per sample, ``rh * rw``."""
        return self.reuse_grid[0] * self.reuse_grid[1]

    def __call__(self,
                 batch_size: int,
                 device: DeviceType = None,
                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Sample one mask per sample.

        Args:
            batch_size (int): Number of masks B.
            device (str | torch.device, optional): Device of the masks.
                Defaults to None (the CPU).
            generator (torch.Generator, optional): Source of randomness, on
                any device. Defaults to None (torch's default generator).

        Returns:
            Tensor: Bool cell mask of shape [B, gh, gw], True = masked,
            exactly ``rh * rw`` True per sample.
        """
        if (not isinstance(batch_size, Integral)
                or isinstance(batch_size, bool) or batch_size < 0):
            raise ValueError('batch_size must be a non-negative int, '
                             f'got {batch_size!r}')
        device = torch.device('cpu' if device is None else device)
        return self._sample(int(batch_size), device, generator)

    def _sample(self, batch_size: int, device: torch.device,
                generator: Optional[torch.Generator]) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(mask_ratio={self.mask_ratio}, '
                f'grid_size={self.grid_size})')


@MASK_GENERATORS.register_module()
class PatchMask(BaseMaskGenerator):
    """One contiguous block of ``rh x rw`` cells per sample.

    The block's top-left cell is uniform over all positions where the block
    fits. With ``mask_ratio=0.25`` it covers ``H/2 x W/2`` pixels.

    Args:
        mask_ratio (float): Fraction of the cells masked. Defaults to 0.25.
        grid_size (tuple[int, int]): Cells ``(gh, gw)``. Defaults to (8, 8).
    """

    def _sample(self, batch_size, device, generator):
        (gh, gw), (rh, rw) = self.grid_size, self.reuse_grid
        top = _randint(gh - rh + 1, (batch_size, ), device, generator)
        left = _randint(gw - rw + 1, (batch_size, ), device, generator)
        rows, cols = _window(gh, top, rh), _window(gw, left, rw)
        return rows[:, :, None] & cols[:, None, :]


@MASK_GENERATORS.register_module()
class GridMask(BaseMaskGenerator):
    """A regular lattice: a ``c x c`` square of cells in every period.

    With period ``p`` cells, ``c = p * sqrt(mask_ratio)``. The square sits at
    the same offset in every period: one offset in ``[0, p - c]`` for the
    rows and an independent one for the columns, drawn per sample.

    Args:
        mask_ratio (float): Fraction of the cells masked. Defaults to 0.25.
        grid_size (tuple[int, int]): Cells ``(gh, gw)``, both divisible by
            ``period``. Defaults to (8, 8).
        period (int): Lattice period ``p`` in cells; ``p * sqrt(mask_ratio)``
            must be an integer. Defaults to 2.
    """

    def __init__(self,
                 mask_ratio: float = 0.25,
                 grid_size: Sequence[int] = (8, 8),
                 period: int = 2) -> None:
        super().__init__(mask_ratio, grid_size)
        if (not isinstance(period, Integral) or isinstance(period, bool)
                or period < 1):
            raise ValueError(f'period must be a positive int, got {period!r}')
        self.period = int(period)
        self.square = _cells_per_side(self.period, self.mask_ratio, 'period')
        if any(g % self.period for g in self.grid_size):
            raise ValueError(f'grid_size={self.grid_size} must be divisible '
                             f'by period={self.period}')

    def _sample(self, batch_size, device, generator):
        (gh, gw), p, c = self.grid_size, self.period, self.square
        offsets = _randint(p - c + 1, (2, batch_size), device, generator)
        rows = _window(gh, offsets[0], c, period=p)
        cols = _window(gw, offsets[1], c, period=p)
        return rows[:, :, None] & cols[:, None, :]

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f', period={self.period})'


@MASK_GENERATORS.register_module()
class RandomMask(BaseMaskGenerator):
    """A uniformly random subset of exactly ``rh * rw`` cells per sample.

    Args:
        mask_ratio (float): Fraction of the cells masked. Defaults to 0.25.
        grid_size (tuple[int, int]): Cells ``(gh, gw)``. Defaults to (8, 8).
    """

    def _sample(self, batch_size, device, generator):
        gh, gw = self.grid_size
        noise = _uniform((batch_size, gh * gw), device, generator)
        chosen = noise.argsort(dim=1)[:, :self.num_masked]
        mask = torch.zeros(batch_size,
                           gh * gw,
                           dtype=torch.bool,
                           device=device)
        return mask.scatter_(1, chosen, True).view(batch_size, gh, gw)


@MASK_GENERATORS.register_module()
class CombinedMask(BaseMaskGenerator):
    """Patch or Grid, chosen per sample (the paper's best setting).

    Args:
        mask_ratio (float): Fraction of the cells masked. Defaults to 0.25.
        grid_size (tuple[int, int]): Cells ``(gh, gw)``. Defaults to (8, 8).
        patch_prob (float): Probability that a sample gets a Patch mask, in
            [0, 1]; otherwise it gets a Grid mask. Defaults to 0.5.
        period (int): Period of the Grid masks. Defaults to 2.
    """

    def __init__(self,
                 mask_ratio: float = 0.25,
                 grid_size: Sequence[int] = (8, 8),
                 patch_prob: float = 0.5,
                 period: int = 2) -> None:
        super().__init__(mask_ratio, grid_size)
        if (not isinstance(patch_prob, Real) or isinstance(patch_prob, bool)
                or not 0 <= patch_prob <= 1):
            raise ValueError(
                f'patch_prob must be in [0, 1], got {patch_prob!r}')
        self.patch_prob = float(patch_prob)
        self.patch = PatchMask(mask_ratio, grid_size)
        self.grid = GridMask(mask_ratio, grid_size, period)

    def _sample(self, batch_size, device, generator):
        use_patch = _uniform((batch_size, ), device, generator)
        use_patch = use_patch < self.patch_prob
        patch = self.patch._sample(batch_size, device, generator)
        grid = self.grid._sample(batch_size, device, generator)
        return torch.where(use_patch[:, None, None], patch, grid)

    def __repr__(self) -> str:
        return (super().__repr__()[:-1] + f', patch_prob={self.patch_prob}, '
                f'period={self.grid.period})')


def build_mask_generator(
        cfg: Union[dict, BaseMaskGenerator]) -> BaseMaskGenerator:
    """Build a mask generator from a config, e.g. ``dict(type='PatchMask')``.

    Unlike ``MASK_GENERATORS.build``, an unknown ``type`` raises a
    ``ValueError`` that lists the registered strategies.

    Args:
        cfg (dict | BaseMaskGenerator): Config with a ``type`` key, or a
            built generator (returned as is).

    Returns:
        BaseMaskGenerator: The generator.
    """
    if isinstance(cfg, BaseMaskGenerator):
        return cfg
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError('a mask generator config must be a dict with a '
                         f'"type" key, got {cfg!r}')
    strategy = cfg['type']
    if isinstance(strategy, str):
        try:
            strategy = MASK_GENERATORS.get(strategy)
        except Exception:  # mmengine raises on unknown dotted names
            strategy = None
    if not (isinstance(strategy, type)
            and issubclass(strategy, BaseMaskGenerator)):
        raise ValueError(f'unknown mask strategy type={cfg["type"]!r}; known: '
                         f'{sorted(MASK_GENERATORS.module_dict)}')
    # the class is resolved: building it directly spares mmengine's scope
    # switch (and its warning) under another library's default scope
    kwargs = {key: value for key, value in cfg.items() if key != 'type'}
    return strategy(**kwargs)
