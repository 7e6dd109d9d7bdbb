"""mmmaskreuse: MaskAnyNet and Conditional MAE for OpenMMLab.

Importing the package registers its modules in the ``mmmaskreuse`` scope and
makes mmengine's local checkpoint loading work on torch >= 2.6
(see :mod:`mmmaskreuse.engine.checkpoint`).
"""
from . import engine  # noqa: F401
from .version import __version__

__all__ = ['__version__']
