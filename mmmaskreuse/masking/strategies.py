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

Patch, Grid and Combined can draw only a few masks (25, 4 and 29 on an 8x8
grid at 25 %). They list them once per device, with each mask's masked
cells in raster order, and sampling a batch is drawing one index per sample:
a handful of device operations whatever the batch, where building the masks
anew takes dozens of small ones. Random masks are drawn directly.
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


def raster_order(cell_mask: torch.Tensor, count: int) -> torch.Tensor:
    """[B, count] long: the flat indices (``row * gw + col``) of the first
    ``count`` masked cells of each [gh, gw] mask of ``cell_mask``
    [B, gh, gw], in raster order: the order in which they are stitched."""
    # Stable descending sort puts the masked cells first, in raster order.
    flat = cell_mask.flatten(1).to(torch.uint8)
    return flat.argsort(dim=1, descending=True, stable=True)[:, :count]


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
        return self.sample(batch_size, device, generator)[0]

    def sample(
        self,
        batch_size: int,
        device: DeviceType = None,
        generator: Optional[torch.Generator] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Sample one mask per sample, with its masked cells in order.

        Args: as :meth:`__call__`.

        Returns:
            tuple[Tensor, Tensor]: The bool cell mask [B, gh, gw], and the
            flat indices ``row * gw + col`` of each sample's ``rh * rw``
            masked cells in raster order, long [B, rh * rw] (as
            :func:`raster_order`), which is where they are stitched.
        """
        if (not isinstance(batch_size, Integral)
                or isinstance(batch_size, bool) or batch_size < 0):
            raise ValueError('batch_size must be a non-negative int, '
                             f'got {batch_size!r}')
        device = torch.device('cpu' if device is None else device)
        return self._sample(int(batch_size), device, generator)

    def _sample(
        self, batch_size: int, device: torch.device,
        generator: Optional[torch.Generator]
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(mask_ratio={self.mask_ratio}, '
                f'grid_size={self.grid_size})')


class _ListedMaskGenerator(BaseMaskGenerator):
    """A strategy with few possible masks: they are listed, each with its
    probability, and a batch draws one index per sample.

    Subclasses implement :meth:`listed`. The list, the masked cells of each
    mask in raster order and the cumulative probabilities are built once
    per device and kept.
    """

    def listed(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """Every mask the strategy can draw, bool [K, gh, gw] on the CPU,
        and its probability, float64 [K]."""
        raise NotImplementedError

    def _tables(self, device: torch.device):
        tables = self.__dict__.setdefault('_device_tables', {})
        if device not in tables:
            masks, probs = self.listed()
            cdf = probs.cumsum(0)
            # x / x is exactly 1, so the last cumulative value (and any
            # equal to it, after masks of zero probability) is exactly 1
            # and a uniform draw in [0, 1) never runs past the list.
            cdf = (cdf / cdf[-1]).float()
            tables[device] = (masks.to(device),
                              raster_order(masks, self.num_masked).to(device),
                              cdf.to(device))
        return tables[device]

    def _sample(self, batch_size, device, generator):
        masks, order, cdf = self._tables(device)
        draw = _uniform((batch_size, ), device, generator)
        # the first mask whose cumulative probability exceeds the draw
        index = torch.searchsorted(cdf, draw, right=True)
        return masks[index], order[index]


def _blocks(length: int, size: int, period: Optional[int] = None):
    """[S, length] bool: one row per start ``s`` of a window of ``size``
    cells, ``[s, s + size)`` (repeated every ``period`` if given); the starts
    are all positions where the window fits (in the period)."""
    span = length if period is None else period
    position = torch.arange(length)
    if period is not None:
        position = position % period
    start = torch.arange(span - size + 1)[:, None]
    return (position >= start) & (position < start + size)


@MASK_GENERATORS.register_module()
class PatchMask(_ListedMaskGenerator):
    """One contiguous block of ``rh x rw`` cells per sample.

    The block's top-left cell is uniform over all positions where the block
    fits. With ``mask_ratio=0.25`` it covers ``H/2 x W/2`` pixels.

    Args:
        mask_ratio (float): Fraction of the cells masked. Defaults to 0.25.
        grid_size (tuple[int, int]): Cells ``(gh, gw)``. Defaults to (8, 8).
    """

    def listed(self):
        (gh, gw), (rh, rw) = self.grid_size, self.reuse_grid
        return _outer(_blocks(gh, rh), _blocks(gw, rw))


@MASK_GENERATORS.register_module()
class GridMask(_ListedMaskGenerator):
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

    def listed(self):
        (gh, gw), p, c = self.grid_size, self.period, self.square
        return _outer(_blocks(gh, c, period=p), _blocks(gw, c, period=p))

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
        # sorted cell indices are the raster order
        order = noise.argsort(dim=1)[:, :self.num_masked].sort(dim=1).values
        mask = torch.zeros(batch_size,
                           gh * gw,
                           dtype=torch.bool,
                           device=device)
        return mask.scatter_(1, order, True).view(batch_size, gh, gw), order


@MASK_GENERATORS.register_module()
class CombinedMask(_ListedMaskGenerator):
    """Patch or Grid, chosen per sample (the paper's best setting): a Patch
    mask at a uniform position with probability ``patch_prob``, otherwise a
    Grid mask.

    ``grid`` picks the Grid: ``'cells'``, :class:`GridMask` on the cell
    grid at uniform offsets; or ``'authors'``, the authors' Grid
    (:class:`~mmmaskreuse.masking.AuthorsGridMask`: pixel cells of a random
    size per sample, 25 % only). With ``'authors'`` the masks depend on the
    image size, so masking goes through
    :class:`~mmmaskreuse.masking.MaskReuse` (classification batches only),
    which reports pixel masks [B, H, W]; the Patch reuse image must then
    have the authors' reuse size ``H/2 x W/2`` (``grid_size`` divides the
    image), and :meth:`sample` raises a ``TypeError``.

    Args:
        mask_ratio (float): Fraction of the cells masked. Defaults to 0.25.
        grid_size (tuple[int, int]): Cells ``(gh, gw)``. Defaults to (8, 8).
        patch_prob (float): Probability that a sample gets a Patch mask, in
            [0, 1]; otherwise it gets a Grid mask. Defaults to 0.5.
        period (int): Period of the Grid masks, with ``grid='cells'``.
            Defaults to 2.
        grid (str): 'cells' or 'authors', see above. Defaults to 'cells'.
        source_size (int | tuple[int, int], optional): With
            ``grid='authors'``: the size of the images as stored, when the
            pipeline resizes them, so that the Grid's cells have the
            authors' size in source pixels (see
            :class:`~mmmaskreuse.masking.AuthorsGridMask`). Defaults to
            None.
    """

    def __init__(self,
                 mask_ratio: float = 0.25,
                 grid_size: Sequence[int] = (8, 8),
                 patch_prob: float = 0.5,
                 period: int = 2,
                 grid: str = 'cells',
                 source_size: Optional[Union[int, Sequence[int]]] = None
                 ) -> None:
        super().__init__(mask_ratio, grid_size)
        if (not isinstance(patch_prob, Real) or isinstance(patch_prob, bool)
                or not 0 <= patch_prob <= 1):
            raise ValueError(
                f'patch_prob must be in [0, 1], got {patch_prob!r}')
        if grid not in ('cells', 'authors'):
            raise ValueError(
                f"grid must be 'cells' or 'authors', got {grid!r}")
        self.patch_prob = float(patch_prob)
        self.patch = PatchMask(mask_ratio, grid_size)
        self.grid_variant = grid
        if grid == 'authors':
            # imported here: authors_grid builds on this module
            from .authors_grid import AuthorsGridMask
            self.grid = AuthorsGridMask(mask_ratio, source_size=source_size)
        elif source_size is not None:
            raise ValueError("source_size scales the authors' Grid: it needs "
                             f"grid='authors', got grid={grid!r}")
        else:
            self.grid = GridMask(mask_ratio, grid_size, period)

    def listed(self):
        if self.grid_variant == 'authors':
            raise TypeError(
                "CombinedMask(grid='authors') has no cell masks of its own: "
                'its Grid depends on the image size; mask images with '
                'MaskReuse')
        patches, patch_probs = self.patch.listed()
        grids, grid_probs = self.grid.listed()
        return torch.cat([patches, grids]), torch.cat([
            self.patch_prob * patch_probs, (1 - self.patch_prob) * grid_probs
        ])

    def __repr__(self) -> str:
        if self.grid_variant == 'authors':
            return (super().__repr__()[:-1] +
                    f", patch_prob={self.patch_prob}, grid='authors', "
                    f'source_size={self.grid.source_size})')
        return (super().__repr__()[:-1] + f', patch_prob={self.patch_prob}, '
                f'period={self.grid.period})')


def _outer(rows: torch.Tensor,
           cols: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Every mask ``rows[i] x cols[j]`` (bool [I * J, gh, gw]), uniformly
    likely."""
    masks = rows[:, None, :, None] & cols[None, :, None, :]
    masks = masks.flatten(0, 1)
    return masks, torch.full((len(masks), ), 1 / len(masks),
                             dtype=torch.float64)


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
