"""Every mask of the project: MaskAnyNet's cell masks, masked images and
reuse images; Conditional MAE's token shots (ViT) and cell shots (Swin,
ConvNeXt).

Imports nothing from :mod:`mmmaskreuse.models`; the data preprocessors call
it on device.
"""
from .authors_grid import AuthorsGridMask, authors_grid_mask_and_reuse
from .cell_shots import (cells_to_grid, check_shots, grid_to_cells,
                         random_cell_keep)
from .corruptions import (PatchCorruption, occlude_patches, patch_keys,
                          shuffle_patches)
from .reference import reference_mask_and_reuse_numpy
from .reuse import (MaskedInputs, MaskReuse, cell_mask_to_pixels,
                    check_image_sizes, downsample_to_reuse, mask_and_reuse,
                    resize_image, reuse_size)
from .strategies import (BaseMaskGenerator, CombinedMask, GridMask, PatchMask,
                         RandomMask, build_mask_generator, raster_order)
from .token_shots import (gather_tokens, kept_tokens_per_shot,
                          num_kept_tokens, random_token_keep, shot_of_patches)

__all__ = [
    'BaseMaskGenerator', 'PatchMask', 'GridMask', 'RandomMask', 'CombinedMask',
    'AuthorsGridMask', 'authors_grid_mask_and_reuse',
    'build_mask_generator', 'raster_order', 'mask_and_reuse',
    'cell_mask_to_pixels', 'check_image_sizes', 'downsample_to_reuse',
    'MaskReuse', 'MaskedInputs', 'resize_image', 'reuse_size',
    'reference_mask_and_reuse_numpy', 'num_kept_tokens',
    'kept_tokens_per_shot', 'gather_tokens', 'random_token_keep',
    'shot_of_patches', 'PatchCorruption', 'occlude_patches',
    'shuffle_patches', 'patch_keys', 'check_shots', 'random_cell_keep',
    'cells_to_grid', 'grid_to_cells'
]
