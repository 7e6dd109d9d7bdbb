from .conditional_mae import ConditionalMAE
from .multishot_simmim import MultiShotSimMIM

__all__ = ['ConditionalMAE', 'MultiShotSimMIM']
