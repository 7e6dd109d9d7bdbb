"""Masking of MaskAnyNet: cell masks, masked images and reuse images.

Imports nothing from :mod:`mmmaskreuse.models`; the data preprocessors call
it on device.
"""
from .reference import reference_mask_and_reuse_numpy
from .reuse import (MaskedInputs, MaskReuse, downsample_to_reuse,
                    mask_and_reuse, resize_image, reuse_size)
from .strategies import (BaseMaskGenerator, CombinedMask, GridMask, PatchMask,
                         RandomMask, build_mask_generator)

__all__ = [
    'BaseMaskGenerator', 'PatchMask', 'GridMask', 'RandomMask', 'CombinedMask',
    'build_mask_generator', 'mask_and_reuse', 'downsample_to_reuse',
    'MaskReuse', 'MaskedInputs', 'resize_image', 'reuse_size',
    'reference_mask_and_reuse_numpy'
]
