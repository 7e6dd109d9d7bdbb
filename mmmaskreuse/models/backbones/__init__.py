from .maskanynet import (FeatureAlignment, MaskResNet, MaskResNetCIFAR,
                         MaskSwin, MaskViT, ReuseFusion)

__all__ = [
    'FeatureAlignment', 'ReuseFusion', 'MaskResNet', 'MaskResNetCIFAR',
    'MaskViT', 'MaskSwin'
]
