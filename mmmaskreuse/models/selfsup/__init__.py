from .conditional_mae import ConditionalMAE
from .fcmae import FCMAE, FCMAEDecoder
from .multishot_simmim import MultiShotSimMIM

__all__ = ['ConditionalMAE', 'MultiShotSimMIM', 'FCMAE', 'FCMAEDecoder']
