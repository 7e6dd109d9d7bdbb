from .cls import MaskReuseClsDataPreprocessor

__all__ = ['MaskReuseClsDataPreprocessor']
