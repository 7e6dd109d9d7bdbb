"""Masked image and reuse image of MaskAnyNet.

The reuse image gives the auxiliary branch the pixels that masking removed:
the masked cells, cut from the original image and stitched in raster order
(row-major over the cell grid) into an ``rh x rw`` arrangement of cells. It is
pixel exact; nothing is resampled. At test time, and for training samples
left unmasked, the auxiliary branch sees the whole image downsampled to the
reuse size instead (:func:`downsample_to_reuse`).
"""
import math
from numbers import Real
from typing import NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

from .strategies import BaseMaskGenerator, _uniform, build_mask_generator


class MaskedInputs(NamedTuple):
    """What a MaskAnyNet data preprocessor hands the backbone in training.

    Attributes:
        masked_image (Tensor): [B, C, H, W], masked cells set to the fill
            value.
        reuse_image (Tensor): [B, C, h, w], the masked cells stitched
            (``h = H * sqrt(mask_ratio)``), or the downsampled image for
            samples left unmasked.
        cell_mask (Tensor): Bool [B, gh, gw], True = masked cell.
    """
    masked_image: torch.Tensor
    reuse_image: torch.Tensor
    cell_mask: torch.Tensor


def reuse_size(height: int, width: int,
               mask_ratio: float) -> Tuple[int, int]:
    """Pixels ``(h, w)`` of the reuse image of an ``H x W`` image.

    The masked area ``mask_ratio * H * W`` is stitched with the image's
    aspect ratio, so each side scales by ``sqrt(mask_ratio)`` (rounded).
    """
    side = math.sqrt(mask_ratio)
    return max(1, round(height * side)), max(1, round(width * side))


def _cell_size(images: torch.Tensor,
               grid_size: Sequence[int]) -> Tuple[int, int]:
    """Pixels ``(ch, cw)`` of one cell of ``images`` [B, C, H, W]."""
    if images.dim() != 4:
        raise ValueError('images must have shape [B, C, H, W], '
                         f'got {tuple(images.shape)}')
    height, width = images.shape[-2:]
    gh, gw = grid_size
    if height % gh or width % gw:
        raise ValueError(f'image size H={height}, W={width} is not divisible '
                         f'by the cell grid grid_size={tuple(grid_size)}')
    return height // gh, width // gw


def mask_and_reuse(
        images: torch.Tensor,
        cell_mask: torch.Tensor,
        reuse_grid: Sequence[int],
        fill_value: float = 0.,
        check_count: bool = True) -> Tuple[torch.Tensor, torch.Tensor]:
    """Mask cells of a batch and stitch them into reuse images.

    Args:
        images (Tensor): Images of shape [B, C, H, W]; H and W divisible by
            ``gh`` and ``gw``.
        cell_mask (Tensor): Bool mask of shape [B, gh, gw], True = masked,
            exactly ``rh * rw`` True per sample.
        reuse_grid (tuple[int, int]): Cells ``(rh, rw)`` of the reuse image.
        fill_value (float): Value of the masked pixels. Defaults to 0.
        check_count (bool): Check that every sample masks ``rh * rw``
            cells, which costs a device synchronisation. The mask
            generators guarantee it, so :class:`MaskReuse` skips it.
            Defaults to True.

    Returns:
        tuple[Tensor, Tensor]:

        - masked (Tensor): ``images`` with the masked cells set to
          ``fill_value``, shape [B, C, H, W].
        - reuse (Tensor): The original pixels of the masked cells in raster
          order, arranged ``rh x rw``, shape [B, C, rh * H / gh, rw * W / gw].
          For a Patch mask it is the masked block itself.
    """
    if cell_mask.dtype != torch.bool or cell_mask.dim() != 3 \
            or cell_mask.shape[0] != images.shape[0]:
        raise ValueError('cell_mask must be a bool tensor of shape '
                         f'[B={images.shape[0]}, gh, gw], got '
                         f'{cell_mask.dtype} {tuple(cell_mask.shape)}')
    batch, channels = images.shape[:2]
    (gh, gw), (rh, rw) = cell_mask.shape[1:], reuse_grid
    ch, cw = _cell_size(images, (gh, gw))
    flat_mask = cell_mask.reshape(batch, gh * gw)
    # A wrong count would silently stitch unmasked cells.
    if check_count and batch and not bool(
            (flat_mask.sum(1) == rh * rw).all()):
        raise ValueError(
            f'every sample must mask reuse_grid={tuple(reuse_grid)} -> '
            f'{rh * rw} cells, got {flat_mask.sum(1).tolist()}')
    cells = images.reshape(batch, channels, gh, ch, gw, cw)
    masked = cells.masked_fill(cell_mask.view(batch, 1, gh, 1, gw, 1),
                               fill_value).view_as(images)
    # Stable descending sort puts the masked cells first, in raster order.
    order = flat_mask.to(torch.uint8).argsort(dim=1,
                                              descending=True,
                                              stable=True)[:, :rh * rw]
    samples = torch.arange(batch, device=images.device)[:, None]
    # Advanced indices around slices go first: [B, rh * rw, C, ch, cw].
    chosen = cells[samples, :, order // gw, :, order % gw, :]
    reuse = chosen.reshape(batch, rh, rw, channels, ch, cw)
    reuse = reuse.permute(0, 3, 1, 4, 2, 5).reshape(batch, channels, rh * ch,
                                                    rw * cw)
    return masked, reuse


def downsample_to_reuse(images: torch.Tensor, reuse_grid: Sequence[int],
                        grid_size: Sequence[int]) -> torch.Tensor:
    """The whole image resized to the reuse image's size.

    Bilinear with antialiasing (``align_corners=False``), so the auxiliary
    branch sees a smoothed, not aliased, view of the full image.

    Args:
        images (Tensor): Float images of shape [B, C, H, W].
        reuse_grid (tuple[int, int]): Cells ``(rh, rw)`` of the reuse image.
        grid_size (tuple[int, int]): Cells ``(gh, gw)`` over the image.

    Returns:
        Tensor: Shape [B, C, rh * H / gh, rw * W / gw].
    """
    ch, cw = _cell_size(images, grid_size)
    return resize_image(images, (reuse_grid[0] * ch, reuse_grid[1] * cw))


def resize_image(images: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Bilinear, antialiased resize of float images [B, C, H, W] to
    ``size=(h, w)``: the test-time input of the reuse branch."""
    return F.interpolate(images,
                         size=tuple(size),
                         mode='bilinear',
                         align_corners=False,
                         antialias=True)


class MaskReuse:
    """Mask a training batch and build its reuse images.

    Each sample is masked with probability ``prob``. A sample left unmasked
    keeps its image, gets the downsampled full image as its reuse image (as
    at test time) and an all-False cell mask.

    Args:
        mask_generator (dict | BaseMaskGenerator): The strategy, or its
            config, e.g. ``dict(type='CombinedMask', mask_ratio=0.25)``.
        prob (float): Probability that a sample is masked, in [0, 1].
            Defaults to 1.0.
        fill_value (float): Value of the masked pixels. Defaults to 0.
    """

    def __init__(self,
                 mask_generator: Union[dict, BaseMaskGenerator],
                 prob: float = 1.0,
                 fill_value: float = 0.) -> None:
        self.mask_generator = build_mask_generator(mask_generator)
        if (not isinstance(prob, Real) or isinstance(prob, bool)
                or not 0 <= prob <= 1):
            raise ValueError(f'prob must be in [0, 1], got {prob!r}')
        self.prob = float(prob)
        self.fill_value = fill_value

    @property
    def reuse_grid(self) -> Tuple[int, int]:
        return self.mask_generator.reuse_grid

    def downsample(self, images: torch.Tensor) -> torch.Tensor:
        """The reuse-branch input at test time, see
        :func:`downsample_to_reuse`."""
        return downsample_to_reuse(images, self.reuse_grid,
                                   self.mask_generator.grid_size)

    def __call__(
        self,
        images: torch.Tensor,
        generator: Optional[torch.Generator] = None
    ) -> MaskedInputs:
        """Mask a batch.

        Args:
            images (Tensor): Float images of shape [B, C, H, W].
            generator (torch.Generator, optional): Source of randomness.
                Defaults to None.

        Returns:
            MaskedInputs: ``masked_image`` [B, C, H, W], ``reuse_image``
            [B, C, rh * H / gh, rw * W / gw] and the bool ``cell_mask``
            [B, gh, gw] (all False for unmasked samples). With ``prob=0``,
            ``masked`` is ``images`` itself.
        """
        batch, device = images.shape[0], images.device
        gh, gw = self.mask_generator.grid_size
        if self.prob == 0:
            _cell_size(images, (gh, gw))
            cell_mask = torch.zeros(batch,
                                    gh,
                                    gw,
                                    dtype=torch.bool,
                                    device=device)
            return MaskedInputs(images, self.downsample(images), cell_mask)
        cell_mask = self.mask_generator(batch, device, generator)
        masked, reuse = mask_and_reuse(images, cell_mask, self.reuse_grid,
                                       self.fill_value, check_count=False)
        if self.prob < 1:
            applied = _uniform((batch, ), device, generator) < self.prob
            masked = torch.where(applied[:, None, None, None], masked, images)
            reuse = torch.where(applied[:, None, None, None], reuse,
                                self.downsample(images))
            cell_mask = cell_mask & applied[:, None, None]
        return MaskedInputs(masked, reuse, cell_mask)
