from .maskanynet import (FeatureAlignment, MaskResNet, MaskResNetCIFAR,
                         MaskResNetV1c, MaskSwin, MaskViT, ReuseFusion)
from .multishot_mae_vit import MultiShotMAEViT

__all__ = [
    'FeatureAlignment', 'ReuseFusion', 'MaskResNet', 'MaskResNetCIFAR',
    'MaskResNetV1c', 'MaskViT', 'MaskSwin', 'MultiShotMAEViT'
]
