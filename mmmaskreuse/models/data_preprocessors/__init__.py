from importlib.util import find_spec

from .cls import MaskReuseClsDataPreprocessor
from .corrupted import CorruptedClsDataPreprocessor, TestCorruptionMixin

__all__ = [
    'MaskReuseClsDataPreprocessor', 'CorruptedClsDataPreprocessor',
    'TestCorruptionMixin'
]
# mmdet and mmseg are needed only by their tasks' preprocessors
if find_spec('mmdet') is not None:
    from .det import MaskReuseDetDataPreprocessor  # noqa: F401
    __all__.append('MaskReuseDetDataPreprocessor')
if find_spec('mmseg') is not None:
    from .seg import MaskReuseSegDataPreprocessor  # noqa: F401
    __all__.append('MaskReuseSegDataPreprocessor')
