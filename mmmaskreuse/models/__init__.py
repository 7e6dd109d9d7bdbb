"""Models of mmmaskreuse, registered in the ``mmmaskreuse`` scope."""
from .backbones import (FeatureAlignment, MaskResNet, MaskResNetCIFAR,
                        MaskSwin, MaskViT, ReuseFusion)
from .data_preprocessors import MaskReuseClsDataPreprocessor
from .pairing import check_masked_pairing

__all__ = [
    'FeatureAlignment', 'ReuseFusion', 'MaskResNet', 'MaskResNetCIFAR',
    'MaskViT', 'MaskSwin', 'MaskReuseClsDataPreprocessor',
    'check_masked_pairing'
]
