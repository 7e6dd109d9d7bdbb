from .toy_data import ADE_CLASSES, CLASSES, make_toy_data

__all__ = ['ADE_CLASSES', 'CLASSES', 'make_toy_data']
