"""Checks the tools run before a Runner is built, so bad input fails fast
with a message that names the bad value."""
import logging
import os
import os.path as osp
from typing import Iterator, List, Optional, Tuple

from mmengine.config import Config

from .package_configs import drop_package_scope

TOY_DATA_HINT = ('make the toy data with `python tools/misc/make_toy_data.py '
                 '--out data/toy`, or point the config at your dataset with '
                 '--cfg-options {key}.data_root=PATH')

# where dataset wrappers (mmengine, mmdet, mmseg) keep the wrapped datasets
_WRAPPED_KEYS = ('dataset', 'datasets')


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file, with a clear error for a missing path; one that
    inherits ``mmmaskreuse::`` configs builds in its default scope
    (:func:`~.package_configs.drop_package_scope`).

    Args:
        path (str): Config file.
        cfg_options (dict, optional): ``--cfg-options`` overrides.

    Returns:
        Config: The merged config.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = drop_package_scope(Config.fromfile(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def build_model(cfg: Config, init_weights: bool = False):
    """Build ``cfg.model`` as mmengine's Runner does: the top-level
    ``data_preprocessor`` goes into the model unless it has its own, and the
    config's ``default_scope`` resolves the types.

    Args:
        cfg (Config): A loaded config (its ``custom_imports`` imported).
        init_weights (bool): Run ``model.init_weights()``, without the
            INFO line mmengine logs per parameter. Defaults to False.

    Returns:
        nn.Module: The model, on the CPU.
    """
    from mmengine.logging import MMLogger
    from mmengine.registry import MODELS, DefaultScope
    model_cfg = cfg.model.copy()
    if 'data_preprocessor' in cfg:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(model_cfg)
    if init_weights:
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            model.init_weights()
        finally:
            logger.setLevel(level)
    return model


#: this repository's config folder (configs/ beside the package)
REPO_CONFIGS = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')


def default_work_dir(config: str) -> str:
    """``./work_dirs/<path below configs/, without .py>`` for a config of
    this repository's ``configs/`` folder, e.g.
    ``./work_dirs/baselines/resnet50_imagenet``: a MaskAnyNet config and its
    vanilla twin share a file name, and must not write into each other's
    folder (the detection recipes load the ImageNet checkpoints from
    there). ``./work_dirs/<config name>`` for any other config, as the
    upstream tools do."""
    path = osp.realpath(config)
    below = osp.relpath(path, osp.realpath(REPO_CONFIGS))
    if below == os.pardir or below.startswith(os.pardir + os.sep):
        below = osp.basename(path)
    return osp.join('./work_dirs', osp.splitext(below)[0])


def set_work_dir(cfg: Config, work_dir: Optional[str], config: str) -> None:
    """``cfg.work_dir`` by priority: CLI > config > :func:`default_work_dir`.

    Args:
        cfg (Config): The config, changed in place.
        work_dir (str, optional): ``--work-dir`` of the command line.
        config (str): Path of the config file.
    """
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = default_work_dir(config)


def _leaf_datasets(dataset_cfg, key: str) -> Iterator[Tuple[dict, str]]:
    """Yield ``(dataset config, dotted key)`` for every non-wrapper dataset."""
    if isinstance(dataset_cfg, (list, tuple)):
        for index, item in enumerate(dataset_cfg):
            yield from _leaf_datasets(item, f'{key}.{index}')
        return
    wrapped = [k for k in _WRAPPED_KEYS if k in dataset_cfg]
    if not wrapped:
        yield dataset_cfg, key
    for name in wrapped:
        yield from _leaf_datasets(dataset_cfg[name], f'{key}.{name}')


def _expected_paths(dataset_cfg: dict) -> List[Tuple[str, str]]:
    """``(field, path)`` pairs a dataset config says must exist on disk."""
    data_root = dataset_cfg.get('data_root') or ''
    paths = []
    if data_root:
        paths.append(('data_root', data_root))
    ann_file = dataset_cfg.get('ann_file') or ''
    if ann_file:
        paths.append(('ann_file', osp.join(data_root, ann_file)))
    prefix = dataset_cfg.get('data_prefix') or {}
    if isinstance(prefix, str):
        prefix = {'': prefix}
    for name, value in prefix.items():
        if value:
            paths.append((f'data_prefix.{name}'.rstrip('.'),
                          osp.join(data_root, value)))
    return [(field, path) for field, path in paths if '://' not in path]


def check_dataset_paths(cfg: Config, loaders: Tuple[str, ...]) -> None:
    """Fail before any model is built if a dataset folder or file is missing.

    Args:
        cfg (Config): The config.
        loaders (tuple[str]): Dataloader keys to check, e.g.
            ``('train_dataloader', 'val_dataloader')``.

    Raises:
        FileNotFoundError: naming the missing path, the config key that asks
            for it and how to make the toy data.
    """
    for loader in loaders:
        if not cfg.get(loader):
            continue
        for dataset_cfg, key in _leaf_datasets(cfg[loader]['dataset'],
                                               f'{loader}.dataset'):
            for field, path in _expected_paths(dataset_cfg):
                if not osp.exists(path):
                    hint = TOY_DATA_HINT.format(key=key)
                    raise FileNotFoundError(
                        f'dataset path not found: {path} (from {key}.{field}'
                        f'); {hint}')
