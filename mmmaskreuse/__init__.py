"""mmmaskreuse: MaskAnyNet and Conditional MAE for OpenMMLab.

Importing the package registers its modules in the ``mmmaskreuse`` scope,
makes mmengine's local checkpoint loading work on torch >= 2.6
(see :mod:`mmmaskreuse.engine.checkpoint`), and lets configs inherit ours
with ``_base_ = 'mmmaskreuse::...'`` (see
:mod:`mmmaskreuse.engine.package_configs`).
"""
from . import engine  # noqa: F401
from .engine.package_configs import register_config_package
from .version import __version__

register_config_package()

__all__ = ['__version__']
