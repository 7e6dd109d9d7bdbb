"""Masked image and reuse image of MaskAnyNet.

The reuse image gives the auxiliary branch the pixels that masking removed:
the masked cells, cut from the original image and stitched in raster order
(row-major over the cell grid) into an ``rh x rw`` arrangement of cells. It is
pixel exact; nothing is resampled. At test time, and for training samples
left unmasked, the auxiliary branch sees the whole image downsampled to the
reuse size instead (:func:`downsample_to_reuse`). (The authors' Grid,
:class:`~mmmaskreuse.masking.AuthorsGridMask`, has no cell grid: it masks
the images itself and its stitched cells are resampled to the reuse size.)

Detection and segmentation batches are padded: each image fills the top-left
``h_i x w_i`` of an ``H x W`` batch tensor. Given ``image_sizes``, the cell
grid is laid over each image, not over the batch: a sample's cells are
``(h_i // gh) x (w_i // gw)`` pixels from its top-left corner, so a strategy
masks the same fraction of every image whatever its size and padding. The
last ``h_i % gh`` rows and ``w_i % gw`` columns of an image (less than one
cell) belong to no cell and are never masked; padding is never masked and
never stitched. Each reuse image sits at the top-left of a
``reuse_size(H, W)`` canvas, padded with ``pad_value`` like the batch.
"""
import math
from numbers import Real
from typing import NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

from .authors_grid import AuthorsGridMask
from .strategies import (BaseMaskGenerator, CombinedMask, _uniform,
                         build_mask_generator, raster_order)


class MaskedInputs(NamedTuple):
    """What a MaskAnyNet data preprocessor hands the backbone in training.

    Attributes:
        masked_image (Tensor): [B, C, H, W], masked cells set to the fill
            value.
        reuse_image (Tensor): [B, C, h, w], the masked cells stitched
            (``h = H * sqrt(mask_ratio)``), or the downsampled image for
            samples left unmasked.
        cell_mask (Tensor): Bool [B, gh, gw], True = masked cell. For
            :class:`~mmmaskreuse.masking.AuthorsGridMask`, which has no
            fixed cell grid, a pixel mask [B, H, W] (one-pixel cells),
            True = masked pixel.
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
    check_count: bool = True,
    image_sizes: Optional[torch.Tensor] = None,
    pad_value: float = 0.
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Mask cells of a batch and stitch them into reuse images.

    Args:
        images (Tensor): Images of shape [B, C, H, W]; without
            ``image_sizes``, H and W divisible by ``gh`` and ``gw``.
        cell_mask (Tensor): Bool mask of shape [B, gh, gw], True = masked,
            exactly ``rh * rw`` True per sample.
        reuse_grid (tuple[int, int]): Cells ``(rh, rw)`` of the reuse image.
        fill_value (float): Value of the masked pixels. Defaults to 0.
        check_count (bool): Check that every sample masks ``rh * rw``
            cells (and that ``image_sizes`` fit the batch), which costs a
            device synchronisation. The mask generators guarantee it, so
            :class:`MaskReuse` skips it. Defaults to True.
        image_sizes (Tensor, optional): Int [B, 2], ``(h_i, w_i)`` of the
            image in each padded sample, between ``(gh, gw)`` and
            ``(H, W)`` (see :func:`check_image_sizes`); the grid is laid
            over each image (see the module docstring). Defaults to None:
            every image is the whole ``H x W``.
        pad_value (float): Value of the reuse canvas around each reuse
            image, with ``image_sizes``. Defaults to 0.

    Returns:
        tuple[Tensor, Tensor]:

        - masked (Tensor): ``images`` with the masked cells set to
          ``fill_value``, shape [B, C, H, W].
        - reuse (Tensor): The original pixels of the masked cells in raster
          order, arranged ``rh x rw``, shape [B, C, rh * H / gh, rw * W / gw]
          (with ``image_sizes``: ``reuse_size(H, W)``, each sample's
          ``rh * (h_i // gh) x rw * (w_i // gw)`` pixels at the top-left).
          For a Patch mask it is the masked block itself.
    """
    if cell_mask.dtype != torch.bool or cell_mask.dim() != 3 \
            or cell_mask.shape[0] != images.shape[0]:
        raise ValueError('cell_mask must be a bool tensor of shape '
                         f'[B={images.shape[0]}, gh, gw], got '
                         f'{cell_mask.dtype} {tuple(cell_mask.shape)}')
    batch = images.shape[0]
    (gh, gw), (rh, rw) = cell_mask.shape[1:], reuse_grid
    flat_mask = cell_mask.reshape(batch, gh * gw)
    # A wrong count would silently stitch unmasked cells.
    if check_count and batch and not bool(
            (flat_mask.sum(1) == rh * rw).all()):
        raise ValueError(
            f'every sample must mask reuse_grid={tuple(reuse_grid)} -> '
            f'{rh * rw} cells, got {flat_mask.sum(1).tolist()}')
    if image_sizes is not None and check_count:
        check_image_sizes(images, image_sizes, (gh, gw))
    return _mask_and_reuse(images, cell_mask,
                           raster_order(cell_mask, rh * rw), (rh, rw),
                           fill_value, image_sizes, pad_value)


def _mask_and_reuse(
        images: torch.Tensor, cell_mask: torch.Tensor, order: torch.Tensor,
        reuse_grid: Tuple[int, int], fill_value: float,
        image_sizes: Optional[torch.Tensor],
        pad_value: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """:func:`mask_and_reuse` without checks, given ``order`` [B, rh * rw]:
    the masked cells of each sample in raster order."""
    if image_sizes is not None:
        return _mask_and_reuse_in_images(images, cell_mask, order,
                                         reuse_grid, image_sizes, fill_value,
                                         pad_value)
    batch, channels = images.shape[:2]
    (gh, gw), (rh, rw) = cell_mask.shape[1:], reuse_grid
    ch, cw = _cell_size(images, (gh, gw))
    cells = images.reshape(batch, channels, gh, ch, gw, cw)
    masked = cells.masked_fill(cell_mask.view(batch, 1, gh, 1, gw, 1),
                               fill_value).view_as(images)
    samples = torch.arange(batch, device=images.device)[:, None]
    # Advanced indices around slices go first: [B, rh * rw, C, ch, cw].
    chosen = cells[samples, :, order // gw, :, order % gw, :]
    reuse = chosen.reshape(batch, rh, rw, channels, ch, cw)
    reuse = reuse.permute(0, 3, 1, 4, 2, 5).reshape(batch, channels, rh * ch,
                                                    rw * cw)
    return masked, reuse


def check_image_sizes(images: torch.Tensor, image_sizes: torch.Tensor,
                      grid_size: Sequence[int]) -> None:
    """Raise unless ``image_sizes`` [B, 2] fit the batch ``images``
    [B, C, H, W] and give every image at least one pixel per cell of
    ``grid_size``. Reads the sizes on the host."""
    if images.dim() != 4:
        raise ValueError('images must have shape [B, C, H, W], '
                         f'got {tuple(images.shape)}')
    if tuple(image_sizes.shape) != (images.shape[0], 2):
        raise ValueError('image_sizes must have shape '
                         f'[B={images.shape[0]}, 2], got '
                         f'{tuple(image_sizes.shape)}')
    height, width = images.shape[-2:]
    for h, w in image_sizes.tolist():
        if not (grid_size[0] <= h <= height and grid_size[1] <= w <= width):
            raise ValueError(
                f'image size (h, w)=({h}, {w}) does not fit the mask grid '
                f'grid_size={tuple(grid_size)} inside the padded batch of '
                f'{height} x {width}: an image needs at least one pixel per '
                'cell and must lie inside the batch')


def _mask_and_reuse_in_images(
        images: torch.Tensor, cell_mask: torch.Tensor, order: torch.Tensor,
        reuse_grid: Tuple[int, int], image_sizes: torch.Tensor,
        fill_value: float,
        pad_value: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """:func:`mask_and_reuse` of padded images with the grid laid over each
    image: every pixel looks up its cell and every reuse pixel its source
    pixel, for all samples at once. ``order`` [B, rh * rw]: the masked cells
    of each sample in raster order."""
    batch, channels, height, width = images.shape
    (gh, gw), (rh, rw) = cell_mask.shape[1:], reuse_grid
    device = images.device
    sizes = image_sizes.to(device=device, dtype=torch.long)
    cell_h, cell_w = sizes[:, 0:1] // gh, sizes[:, 1:2] // gw  # [B, 1]

    def cell_of(length, cell, cells):
        # [B, length]: the cell of each pixel along an axis, -1 past the grid
        index = torch.arange(length, device=device) // cell
        return torch.where(index < cells, index, -1)

    rows, cols = cell_of(height, cell_h, gh), cell_of(width, cell_w, gw)
    in_grid = (rows >= 0)[:, :, None] & (cols >= 0)[:, None, :]
    cell = rows.clamp(min=0)[:, :, None] * gw + cols.clamp(min=0)[:, None]
    pixel_mask = cell_mask.reshape(batch, -1).gather(1, cell.view(
        batch, -1)).view(batch, height, width) & in_grid
    masked = images.masked_fill(pixel_mask[:, None], fill_value)

    # Reuse pixel (y, x) lies in slot (y // ch, x // cw) of the rh x rw
    # arrangement; the slot holds cell order[slot], at the same offset.
    out_h, out_w = reuse_size(height, width, rh * rw / (gh * gw))
    y, x = torch.arange(out_h, device=device), torch.arange(out_w,
                                                            device=device)
    slot_row, slot_col = y // cell_h, x // cell_w  # [B, out_h], [B, out_w]
    inside = (slot_row < rh)[:, :, None] & (slot_col < rw)[:, None, :]
    slot = (slot_row.clamp(max=rh - 1)[:, :, None] * rw +
            slot_col.clamp(max=rw - 1)[:, None, :])
    source = order.gather(1, slot.view(batch, -1)).view(batch, out_h, out_w)
    source_y = (source // gw) * cell_h[:, :, None] + (y % cell_h)[:, :, None]
    source_x = (source % gw) * cell_w[:, :, None] + (x % cell_w)[:, None, :]
    pixel = (source_y * width + source_x).view(batch, 1, -1)
    reuse = images.flatten(2).gather(2, pixel.expand(-1, channels, -1))
    reuse = reuse.view(batch, channels, out_h, out_w).masked_fill(
        ~inside[:, None], pad_value)
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


def cell_mask_to_pixels(cell_mask: torch.Tensor,
                        size: Sequence[int]) -> torch.Tensor:
    """Bool [B, gh, gw] cell mask -> bool [B, H, W] pixel mask for an image
    of ``size=(H, W)`` (H, W divisible by gh, gw)."""
    gh, gw = cell_mask.shape[1:]
    height, width = size
    if height % gh or width % gw:
        raise ValueError(f'image size {tuple(size)} is not divisible by the '
                         f'cell grid {(gh, gw)}')
    return cell_mask.repeat_interleave(height // gh, 1).repeat_interleave(
        width // gw, 2)


class MaskReuse:
    """Mask a training batch and build its reuse images.

    Each sample is masked with probability ``prob``. A sample left unmasked
    keeps its image, gets the downsampled full image as its reuse image (as
    at test time; or a view of it given to :meth:`__call__`, e.g. the
    authors' AutoAugment copy) and an all-False cell mask.

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
    def masks_pixels(self) -> bool:
        """Whether the strategy draws pixel masks that depend on the image
        size (the authors' Grid, alone or in a Combined mask)."""
        gen = self.mask_generator
        return isinstance(gen, AuthorsGridMask) or (isinstance(
            gen, CombinedMask) and gen.grid_variant == 'authors')

    @property
    def reuse_grid(self) -> Tuple[int, int]:
        return self.mask_generator.reuse_grid

    def downsample(self, images: torch.Tensor) -> torch.Tensor:
        """The reuse-branch input at test time: the whole batch resized to
        ``reuse_size(H, W)`` (see :func:`downsample_to_reuse`)."""
        size = reuse_size(*images.shape[-2:], self.mask_generator.mask_ratio)
        return resize_image(images, size)

    def unmasked(self,
                 images: torch.Tensor,
                 view: Optional[torch.Tensor] = None) -> MaskedInputs:
        """The batch with nothing masked: ``images`` themselves, ``view``
        (default: the images) resized to the reuse size as reuse images,
        and all-False masks (pixel masks [B, H, W] for the authors' Grid).

        Args:
            images (Tensor): Float images of shape [B, C, H, W].
            view (Tensor, optional): [B, C, H', W'], what the reuse branch
                sees. Defaults to None (the images).
        """
        mask_size = (tuple(images.shape[-2:]) if self.masks_pixels else
                     tuple(self.mask_generator.grid_size))
        return self._nothing_masked(images, view, mask_size)

    def __call__(self,
                 images: torch.Tensor,
                 generator: Optional[torch.Generator] = None,
                 image_sizes: Optional[torch.Tensor] = None,
                 pad_value: float = 0.,
                 unmasked_view: Optional[torch.Tensor] = None
                 ) -> MaskedInputs:
        """Mask a batch.

        Args:
            images (Tensor): Float images of shape [B, C, H, W].
            generator (torch.Generator, optional): Source of randomness.
                Defaults to None.
            image_sizes (Tensor, optional): Int [B, 2] on the CPU: the
                ``(h, w)`` of each image in a padded batch; the cell grid is
                laid over each image (see the module docstring). Defaults
                to None: the grid covers the whole batch, whose H and W the
                grid must divide.
            pad_value (float): Padding of the reuse canvas, with
                ``image_sizes``. Defaults to 0.
            unmasked_view (Tensor, optional): [B, C, H', W'], what the
                reuse branch of a sample left unmasked sees, resized to the
                reuse size like the image would be (the authors'
                AutoAugment copy). Defaults to None: the image itself.

        Returns:
            MaskedInputs: ``masked_image`` [B, C, H, W], ``reuse_image``
            [B, C, rh * H / gh, rw * W / gw] (``reuse_size(H, W)`` with
            ``image_sizes``) and the bool ``cell_mask`` [B, gh, gw] (all
            False for unmasked samples). With ``prob=0``, ``masked`` is
            ``images`` itself. For :class:`AuthorsGridMask`: the reuse
            image is ``reuse_size(H, W, 0.25)`` and ``cell_mask`` the pixel
            mask [B, H, W]; padded batches (``image_sizes``) are refused.
        """
        if unmasked_view is not None and (
                unmasked_view.dim() != 4
                or unmasked_view.shape[:2] != images.shape[:2]):
            raise ValueError(
                'unmasked_view must be [B, C, H, W] like images '
                f'{tuple(images.shape)}, got {tuple(unmasked_view.shape)}')
        if self.masks_pixels:
            return self._authors_grid(images, generator, image_sizes,
                                      unmasked_view)
        batch, device = images.shape[0], images.device
        gh, gw = self.mask_generator.grid_size
        if image_sizes is not None:
            check_image_sizes(images, image_sizes, (gh, gw))
            height, width = images.shape[-2:]
            if (image_sizes == torch.tensor([height, width])).all() and not (
                    height % gh or width % gw):
                image_sizes = None  # unpadded: the faster reshape path
        if image_sizes is None:
            _cell_size(images, (gh, gw))
        if self.prob == 0:
            return self._nothing_masked(images, unmasked_view, (gh, gw))
        cell_mask, order = self.mask_generator.sample(batch, device,
                                                      generator)
        masked, reuse = _mask_and_reuse(images, cell_mask, order,
                                        self.reuse_grid, self.fill_value,
                                        image_sizes, pad_value)
        return self._masked_with_prob(
            images, MaskedInputs(masked, reuse, cell_mask), unmasked_view,
            generator)

    def _nothing_masked(self, images: torch.Tensor,
                        unmasked_view: Optional[torch.Tensor],
                        mask_size: Tuple[int, int]) -> MaskedInputs:
        """``prob=0``: the images themselves, the reuse input of unmasked
        samples and an all-False mask of ``mask_size`` per sample."""
        mask = torch.zeros(
            images.shape[0], *mask_size, dtype=torch.bool,
            device=images.device)
        return MaskedInputs(images,
                            self._unmasked_reuse(images, unmasked_view), mask)

    def _masked_with_prob(self, images: torch.Tensor, masked: MaskedInputs,
                          unmasked_view: Optional[torch.Tensor],
                          generator: Optional[torch.Generator]
                          ) -> MaskedInputs:
        """Keeps each sample's masking with probability ``prob`` (one draw
        per sample, after the masks'); the others get their image, the
        reuse input of unmasked samples and no masked cell."""
        if self.prob == 1:
            return masked
        applied = _uniform((images.shape[0], ), images.device,
                           generator) < self.prob
        pick = applied[:, None, None, None]
        return MaskedInputs(
            torch.where(pick, masked.masked_image, images),
            torch.where(pick, masked.reuse_image,
                        self._unmasked_reuse(images, unmasked_view)),
            masked.cell_mask & applied[:, None, None])

    def _patch_or_authors_grid(
        self, images: torch.Tensor, out_size: Tuple[int, int],
        generator: Optional[torch.Generator]
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``CombinedMask(grid='authors')``: each sample gets its Patch
        mask (on the cell grid, pixel masks [B, H, W]) with probability
        ``patch_prob``, else its authors' Grid; both are drawn for the
        whole batch and picked per sample. At 25 % the Patch reuse image
        is ``(gh / 2) * (H / gh) = H / 2`` high, the Grid's size."""
        combined, batch = self.mask_generator, images.shape[0]
        grid_masked, grid_reuse, grid_pixels = (
            combined.grid.mask_and_reuse(images, out_size, self.fill_value,
                                         generator))
        cell_mask, order = combined.patch.sample(batch, images.device,
                                                 generator)
        patch_masked, patch_reuse = _mask_and_reuse(
            images, cell_mask, order, combined.reuse_grid, self.fill_value,
            None, 0.)
        patch_pixels = cell_mask_to_pixels(cell_mask, images.shape[-2:])
        patch = _uniform((batch, ), images.device,
                         generator) < combined.patch_prob
        pick = patch[:, None, None, None]
        return (torch.where(pick, patch_masked, grid_masked),
                torch.where(pick, patch_reuse, grid_reuse),
                torch.where(patch[:, None, None], patch_pixels, grid_pixels))

    def _unmasked_reuse(self, images: torch.Tensor,
                        view: Optional[torch.Tensor]) -> torch.Tensor:
        """The reuse image of samples left unmasked: ``view`` (else the
        image) resized to the reuse size of ``images``."""
        if view is None:
            return self.downsample(images)
        size = reuse_size(*images.shape[-2:], self.mask_generator.mask_ratio)
        return resize_image(view, size)

    def _authors_grid(self, images: torch.Tensor,
                      generator: Optional[torch.Generator],
                      image_sizes: Optional[torch.Tensor],
                      unmasked_view: Optional[torch.Tensor]) -> MaskedInputs:
        """:meth:`__call__` with the authors' Grid (:attr:`masks_pixels`):
        it masks the images itself and reports a pixel mask [B, H, W]."""
        if image_sizes is not None:
            raise ValueError(
                f'{self.mask_generator!r} is classification-only for now: '
                'padded detection/segmentation batches (image_sizes) are not '
                'supported; use PatchMask, GridMask, RandomMask or '
                "CombinedMask(grid='cells') there")
        if images.dim() != 4:
            raise ValueError('images must have shape [B, C, H, W], '
                             f'got {tuple(images.shape)}')
        height, width = images.shape[-2:]
        if self.prob == 0:
            return self._nothing_masked(images, unmasked_view, (height, width))
        out_size = reuse_size(height, width, self.mask_generator.mask_ratio)
        if isinstance(self.mask_generator, AuthorsGridMask):
            masked = self.mask_generator.mask_and_reuse(
                images, out_size, self.fill_value, generator)
        else:
            masked = self._patch_or_authors_grid(images, out_size, generator)
        return self._masked_with_prob(images, MaskedInputs(*masked),
                                      unmasked_view, generator)
