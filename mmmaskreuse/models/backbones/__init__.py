from .fusion import FeatureAlignment, ReuseFusion
from .mask_any import MaskAnyBackbone
from .mask_convnext import MaskConvNeXt
from .mask_efficientnet_v2 import MaskEfficientNetV2
from .mask_resnet import MaskResNet, MaskResNetCIFAR, MaskResNetV1c
from .mask_swin import MaskSwin
from .mask_vit import MaskViT
from .multishot_convnext_v2 import MaskedGRN, MultiShotSparseConvNeXt
from .multishot_mae_vit import MultiShotMAEViT
from .multishot_simmim_swin import MultiShotSimMIMSwin

__all__ = [
    'FeatureAlignment', 'ReuseFusion', 'MaskAnyBackbone', 'MaskResNet',
    'MaskResNetCIFAR',
    'MaskResNetV1c', 'MaskViT', 'MaskSwin', 'MaskConvNeXt',
    'MaskEfficientNetV2', 'MultiShotMAEViT', 'MultiShotSimMIMSwin',
    'MultiShotSparseConvNeXt', 'MaskedGRN'
]
