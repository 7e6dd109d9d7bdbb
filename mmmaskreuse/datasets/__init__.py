from .toy_data import ADE_CLASSES, CLASSES, make_toy_data
from .transforms import AutoAugmentReuseView

__all__ = ['ADE_CLASSES', 'CLASSES', 'make_toy_data', 'AutoAugmentReuseView']
