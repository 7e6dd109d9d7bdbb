from .camvid import CamVidDataset
from .toy_data import ADE_CLASSES, CLASSES, make_toy_data
from .transforms import AutoAugmentImage, AutoAugmentReuseView

__all__ = [
    'ADE_CLASSES', 'CLASSES', 'make_toy_data', 'AutoAugmentReuseView',
    'AutoAugmentImage',
    'CamVidDataset'
]
