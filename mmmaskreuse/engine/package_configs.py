"""``_base_ = 'mmmaskreuse::...'``: configs that inherit ours from anywhere.

An install carries our ``configs/`` under ``mmmaskreuse/.mim/configs`` (as
mmpretrain, mmdet and mmseg carry theirs; see ``setup.py``). mmengine
reads ``package::path`` only for the packages in its mapping
``MODULE2PACKAGE`` (module name -> distribution name), which importing
``mmmaskreuse`` extends (:func:`register_config_package`). mmengine
resolves a config's ``_base_`` before it imports the config's
``custom_imports``, so whatever reads a config that inherits ours must have
imported ``mmmaskreuse`` first: our tools do.
"""
from typing import Any

from mmengine.config import Config
from mmengine.config.utils import MODULE2PACKAGE

PACKAGE = 'mmmaskreuse'


def register_config_package() -> None:
    """Let mmengine read ``mmmaskreuse::`` config paths."""
    MODULE2PACKAGE.setdefault(PACKAGE, PACKAGE)


def drop_package_scope(cfg: Config) -> Config:
    """``cfg`` without the ``_scope_='mmmaskreuse'`` keys that mmengine gives
    the typed dicts of a base read through ``mmmaskreuse::``.

    mmengine builds such dicts in the package's own registry, as mmdet's
    configs are built in mmdet's. Ours build upstream types
    (``ImageClassifier``, ``CustomDataset``, ``FasterRCNN``...) in the
    config's ``default_scope`` and name our own ``mmmaskreuse.X``, so a
    config reads the same through ``mmmaskreuse::`` as from its path.

    Args:
        cfg (Config): A config read by ``Config.fromfile``.

    Returns:
        Config: ``cfg``, changed in place.
    """

    def drop(node: Any) -> None:
        if isinstance(node, dict):
            if node.get('_scope_') == PACKAGE:
                del node['_scope_']
            for value in node.values():
                drop(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                drop(value)

    for _, value in cfg.items():
        drop(value)
    return cfg
