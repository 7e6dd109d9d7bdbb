"""Top-1 of a classifier under test-time settings: the robustness table
(clean / occluded / shuffled) and the reuse-branch ablation.

Each setting is a set of config overrides, the same that
``tools/test.py CONFIG CKPT --cfg-options ...`` takes, so every figure of
these tables can be checked with the test tool.
"""
from typing import Dict, Optional

import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.utils import ProgressBar

from mmmaskreuse.engine import load_config
from .models import load_model

OURS = 'mmmaskreuse.MaskReuseClsDataPreprocessor'
PLAIN = ('ClsDataPreprocessor', 'mmpretrain.ClsDataPreprocessor')


def preprocessor_key(cfg: Config) -> str:
    """Where ``cfg``'s data preprocessor is set: ``'model.data_preprocessor'``
    if the model has one, else ``'data_preprocessor'`` (mmpretrain's
    top-level one, which the runner gives a model without its own)."""
    return ('model.data_preprocessor'
            if 'data_preprocessor' in cfg.model else 'data_preprocessor')


def other_image_options(cfg: Config) -> Dict[str, object]:
    """The ``--cfg-options`` of the reuse ablation's other image: the
    MaskAnyNet data preprocessor pairs each test image with one of another
    label of its batch (``other_image_at_test``), and the test set is
    shuffled, from a fixed seed, so that its batches mix labels (a
    class-sorted test set would give batches of one label, which the
    pairing refuses)."""
    return {
        f'{preprocessor_key(cfg)}.other_image_at_test': True,
        'test_dataloader.sampler.shuffle': True,
        'test_dataloader.sampler.seed': 0
    }


def corruption_options(cfg: Config, corruption: dict) -> Dict[str, object]:
    """The ``--cfg-options`` that corrupt ``cfg``'s test images with
    ``corruption`` (arguments of
    :class:`~mmmaskreuse.masking.PatchCorruption`): its data preprocessor
    (the model's, else the top-level one) gets ``test_corruption``;
    mmpretrain's :class:`ClsDataPreprocessor` becomes
    :class:`~mmmaskreuse.models.CorruptedClsDataPreprocessor` for it."""
    where = preprocessor_key(cfg)
    preprocessor = (cfg.model.get('data_preprocessor')
                    or cfg.get('data_preprocessor') or {})
    kind = preprocessor.get('type', 'ClsDataPreprocessor')
    options = {f'{where}.test_corruption': dict(corruption)}
    if kind in PLAIN:
        options[f'{where}.type'] = 'mmmaskreuse.CorruptedClsDataPreprocessor'
    elif kind not in (OURS, 'mmmaskreuse.CorruptedClsDataPreprocessor'):
        raise ValueError(
            f'{kind} takes no test_corruption: corruptions need mmpretrain\'s '
            f'ClsDataPreprocessor or {OURS}')
    return options


def evaluate_top1(config: str,
                  checkpoint: str,
                  cfg_options: Optional[dict] = None,
                  num_images: Optional[int] = None,
                  device: str = 'cpu',
                  progress: bool = True) -> float:
    """Top-1 accuracy (%) of ``checkpoint`` on ``config``'s test set, with
    ``cfg_options`` merged into the config, scored by the config's test
    evaluator: what ``tools/test.py`` prints, on one process.

    Args:
        config (str): A classification config.
        checkpoint (str): Its weights (loaded as everywhere in this
            package: tensors only unless trusted).
        cfg_options (dict, optional): Overrides, as ``--cfg-options``.
        num_images (int, optional): Test on the first ``num_images`` images
            only. Defaults to None (all).
        device (str): Defaults to 'cpu'.
        progress (bool): Show a progress bar. Defaults to True.
    """
    cfg = load_config(config, cfg_options)
    loader_cfg = cfg.test_dataloader.copy()
    if num_images is not None:
        loader_cfg.dataset = dict(loader_cfg.dataset, indices=num_images)
    model = load_model(cfg, checkpoint, device)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        loader = Runner.build_dataloader(loader_cfg)
        evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = getattr(loader.dataset, 'metainfo', None)
    bar = ProgressBar(len(loader)) if progress else None
    with torch.no_grad():
        for batch in loader:
            evaluator.process(model.test_step(batch), batch)
            if bar is not None:
                bar.update()
    metrics = evaluator.evaluate(len(loader.dataset))
    if 'accuracy/top1' not in metrics:
        raise ValueError(f'{config}: its test_evaluator reports '
                         f'{sorted(metrics)}, not accuracy/top1')
    return float(metrics['accuracy/top1'])
