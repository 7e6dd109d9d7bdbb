"""Models of mmmaskreuse, registered in the ``mmmaskreuse`` scope."""
from .backbones import (FeatureAlignment, MaskAnyBackbone, MaskConvNeXt,
                        MaskEfficientNetV2, MaskResNet, MaskResNetCIFAR,
                        MaskResNetV1c, MaskSwin, MaskViT, MultiShotMAEViT,
                        MultiShotSimMIMSwin, MultiShotSparseConvNeXt,
                        ReuseFusion)
from .data_preprocessors import (CorruptedClsDataPreprocessor,
                                 MaskReuseClsDataPreprocessor,
                                 TestCorruptionMixin)
from .pairing import check_masked_pairing
from .selfsup import FCMAE, ConditionalMAE, FCMAEDecoder, MultiShotSimMIM
from .strip import check_strippable, strip_reuse

__all__ = [
    'FeatureAlignment', 'ReuseFusion', 'MaskAnyBackbone', 'MaskResNet',
    'MaskResNetCIFAR',
    'MaskResNetV1c', 'MaskViT', 'MaskSwin', 'MaskConvNeXt',
    'MaskEfficientNetV2', 'MultiShotMAEViT', 'ConditionalMAE',
    'MultiShotSimMIMSwin', 'MultiShotSimMIM', 'MultiShotSparseConvNeXt',
    'FCMAE', 'FCMAEDecoder',
    'MaskReuseClsDataPreprocessor', 'CorruptedClsDataPreprocessor',
    'TestCorruptionMixin', 'check_masked_pairing', 'check_strippable',
    'strip_reuse'
]
