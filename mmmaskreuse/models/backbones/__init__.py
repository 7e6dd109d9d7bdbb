from .maskanynet import (FeatureAlignment, MaskResNet, MaskResNetCIFAR,
                         MaskSwin, MaskViT, ReuseFusion)
from .multishot_mae_vit import MultiShotMAEViT

__all__ = [
    'FeatureAlignment', 'ReuseFusion', 'MaskResNet', 'MaskResNetCIFAR',
    'MaskViT', 'MaskSwin', 'MultiShotMAEViT'
]
