"""The Grid mask of the MaskAnyNet authors' released code.

Their ``Augmentation.py::extract_and_stitch_grid_patches`` masks, per
sample, a lattice of ``ch x cw`` pixel cells instead of cells of a fixed
grid: ``ch`` and ``cw`` are drawn independently and uniformly from the
integers of ``cell_range`` (4..16), and the cells are placed from the
image's top-left corner at a stride of ``stride_factor`` (2) times the cell
size in each direction. An ``H x W`` image holds
``n_r = max(1, (H - ch + s * ch) // (s * ch))`` rows of cells (``s`` the
stride factor) and ``n_c`` columns likewise, so every cell lies fully
inside the image, and with ``s = 2`` a quarter of the area is masked when
the stride divides the image. The reuse image is the cells stitched in
raster order (row-major) into an ``(n_r * ch) x (n_c * cw)`` image, which
their pipeline then resizes to the reuse size (H/2 x W/2: 112 x 112 on
224 px images).

:class:`AuthorsGridMask` does this for a whole batch at once on the
images' device, each sample with its own cell size; see
:func:`authors_grid_mask_and_reuse` for how the reuse image is resampled.
The project's :class:`~mmmaskreuse.masking.GridMask` (a lattice on the
fixed cell grid) is a different mask and is unchanged.
"""
from numbers import Integral
from typing import Optional, Sequence, Tuple, Union

import torch

from mmmaskreuse.registry import MASK_GENERATORS

from .strategies import BaseMaskGenerator, DeviceType, _uniform


def _is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _check_cell_range(cell_range: Sequence[int]) -> Tuple[int, int]:
    if (not isinstance(cell_range, (tuple, list)) or len(cell_range) != 2
            or not all(_is_int(c) and c > 0 for c in cell_range)
            or cell_range[0] > cell_range[1]):
        raise ValueError('cell_range must be two positive ints (min, max) '
                         f'with min <= max, got {cell_range!r}')
    return int(cell_range[0]), int(cell_range[1])


def _check_source_size(
        source_size: Optional[Union[int, Sequence[int]]]
) -> Optional[Tuple[int, int]]:
    if source_size is None:
        return None
    sides = (source_size, ) * 2 if _is_int(source_size) else source_size
    if (not isinstance(sides, (tuple, list)) or len(sides) != 2
            or not all(_is_int(s) and s > 0 for s in sides)):
        raise ValueError('source_size must be a positive int or two (h, w), '
                         f'got {source_size!r}')
    return int(sides[0]), int(sides[1])


def _lattice_axis(length: int, cell: torch.Tensor,
                  stride_factor: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Along one axis of ``length`` pixels, for cells of ``cell`` [B]
    pixels: the number of cells that fit, [B], and whether each pixel lies
    in a cell, bool [B, length]."""
    stride = stride_factor * cell
    count = ((length - cell + stride) // stride).clamp(min=1)
    pixel = torch.arange(length, device=cell.device)
    inside = ((pixel % stride[:, None]) < cell[:, None]) & (
        (pixel // stride[:, None]) < count[:, None])
    return count, inside


def _resample_axis(
    out_length: int, cell: torch.Tensor, count: torch.Tensor,
    stride_factor: int
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Along one axis, the bilinear (``align_corners=False``) resampling of
    the stitched ``count * cell`` pixels [B] to ``out_length``: for each
    output pixel, the source pixels of its two stitched neighbours, long
    [B, out_length] each, and the weight of the second, float
    [B, out_length]. The weight is exactly 0 where the stitched length
    equals ``out_length``."""
    stitched = count * cell  # [B]
    scale = stitched.float() / out_length
    out = torch.arange(out_length, device=cell.device, dtype=torch.float32)
    # half-pixel centres; like torch's bilinear, clamp the left border
    position = ((out[None] + 0.5) * scale[:, None] - 0.5).clamp(min=0)
    first = torch.minimum(position.floor().long(), stitched[:, None] - 1)
    second = torch.minimum(first + 1, stitched[:, None] - 1)
    # same size: scale is 1.0, so position is exactly i (exact in float32
    # for any image side below 2**23) and the weight exactly 0
    weight = position - first

    def source(stitched_pixel):
        # stitched pixel -> cell (stitch order) and offset -> image pixel
        return ((stitched_pixel // cell[:, None]) *
                (stride_factor * cell[:, None]) +
                stitched_pixel % cell[:, None])

    return source(first), source(second), weight


def authors_grid_mask_and_reuse(
    images: torch.Tensor,
    cells: torch.Tensor,
    out_size: Sequence[int],
    stride_factor: int = 2,
    fill_value: float = 0.
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mask a batch with the authors' Grid lattice and build its reuse
    images, each sample with its own cell size.

    Sample ``b`` masks the cells of ``cells[b] = (ch, cw)`` pixels at
    stride ``stride_factor * (ch, cw)`` from the top-left corner (see the
    module docstring). Its reuse image is the virtual image of its cells
    stitched in raster order, ``(n_r * ch) x (n_c * cw)`` pixels, brought
    to ``out_size`` by index maps from each reuse pixel to source pixels
    and a gather, for all samples at once:

    - along an axis where the stitched length equals ``out_size``, the
      stitched pixels are copied: pixel exact;
    - otherwise the stitched image is resampled bilinearly with half-pixel
      centres (``align_corners=False`` semantics, as
      ``F.interpolate(mode='bilinear')`` without antialiasing): each reuse
      pixel blends the 4 neighbours of its position in stitched
      coordinates, each mapped to its source pixel in the image (stitched
      row ``y`` is image row ``(y // ch) * s * ch + y % ch``). Pixels are
      blended only with their stitched neighbours, never across the image
      as a resize of the whole image would.

    The authors resample the stitched image with torchvision's ``Resize``
    on the PIL image (before normalisation, in uint8), which is PIL's
    bilinear filter, antialiased when shrinking; at 224 px the stitched
    sides lie within about 7 % of the reuse size, where the two differ
    little, and the cell sizes dividing 112 (4, 7, 8, 14, 16) need no
    resampling at all.

    Args:
        images (Tensor): Float images of shape [B, C, H, W], H and W at
            least the largest cell size.
        cells (Tensor): Long [B, 2], the cell size ``(ch, cw)`` of each
            sample in pixels, on the images' device.
        out_size (tuple[int, int]): Size ``(h, w)`` of the reuse images.
        stride_factor (int): Cells are ``stride_factor`` cell sizes apart.
            Defaults to 2.
        fill_value (float): Value of the masked pixels. Defaults to 0.

    Returns:
        tuple[Tensor, Tensor, Tensor]:

        - masked (Tensor): ``images`` with the cells set to
          ``fill_value``, [B, C, H, W].
        - reuse (Tensor): The reuse images, [B, C, h, w].
        - pixel_mask (Tensor): Bool [B, H, W], True = masked pixel.
    """
    batch, channels, height, width = images.shape
    out_h, out_w = out_size
    cell_h, cell_w = cells[:, 0], cells[:, 1]
    rows, in_rows = _lattice_axis(height, cell_h, stride_factor)
    cols, in_cols = _lattice_axis(width, cell_w, stride_factor)
    pixel_mask = in_rows[:, :, None] & in_cols[:, None, :]
    masked = images.masked_fill(pixel_mask[:, None], fill_value)

    top, bottom, weight_y = _resample_axis(out_h, cell_h, rows, stride_factor)
    left, right, weight_x = _resample_axis(out_w, cell_w, cols, stride_factor)
    weight_y = weight_y.to(images.dtype)[:, None, :, None]
    weight_x = weight_x.to(images.dtype)[:, None, None, :]

    def gather_rows(index):  # [B, out_h] -> [B, C, out_h, W]
        return images.gather(
            2, index[:, None, :, None].expand(-1, channels, -1, width))

    def gather_cols(image, index):  # [B, C, out_h, W] -> [B, C, out_h, w]
        return image.gather(
            3, index[:, None, None, :].expand(-1, channels, out_h, -1))

    # separable: blend the two rows, then the two columns
    lines = gather_rows(top) * (1 - weight_y) + gather_rows(bottom) * weight_y
    reuse = gather_cols(lines, left) * (1 - weight_x) + gather_cols(
        lines, right) * weight_x
    return masked, reuse, pixel_mask


@MASK_GENERATORS.register_module()
class AuthorsGridMask(BaseMaskGenerator):
    """The Grid mask of the MaskAnyNet authors' released code: a lattice of
    cells of a random pixel size per sample, stitched and resampled to the
    reuse size (see :func:`authors_grid_mask_and_reuse`).

    Unlike the other strategies it has no fixed cell grid: its mask depends
    on the image size, so it masks images, not a cell grid. Use it through
    :class:`~mmmaskreuse.masking.MaskReuse` (e.g. a data preprocessor's
    ``mask_generator=dict(type='AuthorsGridMask')``), whose ``cell_mask``
    is then a pixel mask: bool [B, H, W], True = masked pixel (a cell grid
    of one-pixel cells, which
    :func:`~mmmaskreuse.masking.cell_mask_to_pixels` passes through). Its
    ``grid_size`` and ``reuse_grid`` are None and drawing a cell mask alone
    (``gen(batch_size)``, :meth:`sample`) raises a ``TypeError``.

    Classification only for now: padded detection and segmentation
    batches (``image_sizes``) are refused.

    Args:
        mask_ratio (float): Must be 0.25: the reuse image has the size
            ``reuse_size(H, W, 0.25)`` (H/2 x W/2) the backbone expects.
            Defaults to 0.25.
        cell_range (tuple[int, int]): Cell sides, in pixels, are drawn
            uniformly from the integers ``min..max`` (inclusive), height
            and width independently. Defaults to (4, 16).
        stride_factor (int): Cells lie ``stride_factor`` cell sizes apart;
            with 2 a quarter of the image is masked. Defaults to 2.
        source_size (int | tuple[int, int], optional): Size ``(h, w)`` of
            the images as the dataset stores them, when the pipeline
            resizes them before masking. The authors mask the image as
            loaded, then resize: on 32-px CIFAR upsampled to 224 px their
            4-16 px cells are 28-112 px of the input. With
            ``source_size``, ``cell_range`` is in source pixels and each
            cell side is scaled by the input size over the source size
            (rounded; the lattice scales exactly when the ratio is an
            integer). Defaults to None: cells in input pixels.
    """

    def __init__(self,
                 mask_ratio: float = 0.25,
                 cell_range: Sequence[int] = (4, 16),
                 stride_factor: int = 2,
                 source_size: Optional[Union[int, Sequence[int]]] = None
                 ) -> None:
        if mask_ratio != 0.25 or isinstance(mask_ratio, bool):
            raise ValueError('AuthorsGridMask supports only mask_ratio=0.25 '
                             f'(the reuse size H/2 x W/2), got {mask_ratio!r}')
        self.mask_ratio = 0.25
        self.cell_range = _check_cell_range(cell_range)
        if not _is_int(stride_factor) or stride_factor < 1:
            raise ValueError('stride_factor must be a positive int, got '
                             f'{stride_factor!r}')
        self.stride_factor = int(stride_factor)
        self.source_size = _check_source_size(source_size)
        self.grid_size = None
        self.reuse_grid = None

    def draw_cells(self,
                   batch_size: int,
                   device: DeviceType = None,
                   generator: Optional[torch.Generator] = None
                   ) -> torch.Tensor:
        """Draw each sample's cell size.

        Args:
            batch_size (int): Number of samples B.
            device (str | torch.device, optional): Device of the result.
                Defaults to None (the CPU).
            generator (torch.Generator, optional): Source of randomness, on
                any device. Defaults to None.

        Returns:
            Tensor: Long [B, 2], ``(ch, cw)`` in pixels.
        """
        if not _is_int(batch_size) or batch_size < 0:
            raise ValueError('batch_size must be a non-negative int, '
                             f'got {batch_size!r}')
        device = torch.device('cpu' if device is None else device)
        low, high = self.cell_range
        draw = _uniform((int(batch_size), 2), device, generator)
        cells = (draw * (high - low + 1)).long() + low
        return cells.clamp(max=high)

    def mask_and_reuse(
        self,
        images: torch.Tensor,
        out_size: Sequence[int],
        fill_value: float = 0.,
        generator: Optional[torch.Generator] = None
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw cell sizes and mask ``images`` [B, C, H, W].

        Args:
            images (Tensor): Float images; H and W at least
                ``cell_range[1]``.
            out_size (tuple[int, int]): Size of the reuse images,
                ``reuse_size(H, W, 0.25)`` in :class:`MaskReuse`.
            fill_value (float): Value of the masked pixels. Defaults to 0.
            generator (torch.Generator, optional): Source of randomness.
                Defaults to None.

        Returns:
            tuple[Tensor, Tensor, Tensor]: masked [B, C, H, W], reuse
            [B, C, h, w] and the bool pixel mask [B, H, W]; see
            :func:`authors_grid_mask_and_reuse`.
        """
        if images.dim() != 4:
            raise ValueError('images must have shape [B, C, H, W], '
                             f'got {tuple(images.shape)}')
        height, width = images.shape[-2:]
        scale = self.input_scale(height, width)
        largest = [round(self.cell_range[1] * s) for s in scale]
        if height < largest[0] or width < largest[1]:
            raise ValueError(
                f'image size H={height}, W={width} is smaller than the '
                f'largest cell of AuthorsGridMask, {largest[0]}x{largest[1]} '
                f'(cell_range={self.cell_range}, '
                f'source_size={self.source_size})')
        cells = self.draw_cells(images.shape[0], images.device, generator)
        if self.source_size is not None:
            factor = torch.tensor(scale, device=cells.device)
            cells = (cells * factor).round().long().clamp(min=1)
        return authors_grid_mask_and_reuse(images, cells, out_size,
                                           self.stride_factor, fill_value)

    def input_scale(self, height: int, width: int) -> Tuple[float, float]:
        """Input pixels per cell pixel along ``(h, w)``: the input size
        over ``source_size``, or 1 without one."""
        if self.source_size is None:
            return 1.0, 1.0
        return height / self.source_size[0], width / self.source_size[1]

    def _sample(self, batch_size, device, generator):
        raise TypeError(
            'AuthorsGridMask has no cell grid: its mask depends on the image '
            'size; mask images with MaskReuse or mask_and_reuse(images, ...)')

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(mask_ratio={self.mask_ratio}, '
                f'cell_range={self.cell_range}, '
                f'stride_factor={self.stride_factor}, '
                f'source_size={self.source_size})')
