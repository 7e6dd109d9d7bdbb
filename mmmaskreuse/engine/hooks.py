"""A training run that diverges stops and says so; one that would start
from a checkpoint that is not there, or not the right one, or that would
keep a frozen reuse branch at its random init, never starts."""
import math
import os.path as osp
from typing import Optional, Sequence

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from mmmaskreuse.registry import HOOKS
from .checkpoint import weight_mismatch


@HOOKS.register_module()
class StopOnInvalidLossHook(Hook):
    """Stop training at the first iteration whose logged loss terms are not
    all finite, naming the iteration and every term.

    mmdet has ``CheckInvalidLossHook`` (an ``assert`` on the total loss,
    mmdet's scope only); this one serves mmpretrain, mmdet and mmseg runs
    alike and reads every term the model returned (``loss``, ``loss_cls``,
    ``rec_shot1`` ...). The values are the ones mmengine logs, so checking
    them costs no extra device sync beyond the logger's own.

    Args:
        interval (int): Check every ``interval`` iterations. Defaults to 1.
    """
    priority = 'ABOVE_NORMAL'  # before the logger and checkpoint hooks

    def __init__(self, interval: int = 1) -> None:
        if not (isinstance(interval, int) and interval >= 1):
            raise ValueError(f'interval must be an int >= 1, got {interval}')
        self.interval = interval

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch=None, outputs: Optional[dict] = None):
        if not outputs or not self.every_n_train_iters(runner, self.interval):
            return
        terms = {
            name: float(value.detach() if isinstance(value, torch.Tensor)
                        else value)
            for name, value in outputs.items()
            if isinstance(value, (torch.Tensor, float, int))
            and (not isinstance(value, torch.Tensor) or value.numel() == 1)
        }
        invalid = [name for name, value in terms.items()
                   if not math.isfinite(value)]
        if invalid:
            shown = ', '.join(f'{name}={value:.4g}'
                              for name, value in terms.items())
            raise RuntimeError(
                f'training diverged at iteration {runner.iter + 1} (epoch '
                f'{runner.epoch + 1}): {", ".join(invalid)} not finite '
                f'({shown}). Stopped; lower the learning rate or check the '
                f'data. Checkpoints so far are in {runner.work_dir}.')


@HOOKS.register_module()
class CheckPretrainedWeightsHook(Hook):
    """Stop a run before its weights are initialised when a sub-module's
    ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)`` names a
    checkpoint that does not exist, or one that lacks weights of that
    sub-module.

    mmengine loads such an ``init_cfg`` with ``strict=False`` and only logs
    the keys it did not find, so a transfer run pointed at the wrong file
    (another model's checkpoint, keys without the expected ``backbone.``)
    would train a randomly initialised encoder to the end. The check reads
    the checkpoint once more before mmengine loads it.

    A weight the checkpoint holds in another shape than the sub-module's
    (another width, another number of blocks' channels) is refused too:
    mmengine would only warn and leave it at its random init. Position
    embeddings and relative position bias tables (:data:`RESHAPED_ON_LOAD`)
    are exempt: the upstream ViT and Swin interpolate them as they load.

    Args:
        allow_missing (Sequence[str]): Beginnings of the sub-module's
            state-dict keys that the checkpoint need not hold, or may hold
            in another shape: layers the downstream model adds (``'ln2.'``,
            the norm after a ViT's global pooling). Defaults to ().
    """
    priority = 'VERY_HIGH'  # before_run comes before the weights load

    #: weight names the upstream backbones resize while loading a checkpoint
    RESHAPED_ON_LOAD = ('pos_embed', 'absolute_pos_embed',
                        'relative_position_bias_table')

    def __init__(self, allow_missing: Sequence[str] = ()) -> None:
        if isinstance(allow_missing, str):
            raise ValueError('allow_missing must be a sequence of key '
                             f'beginnings, got the string {allow_missing!r}')
        self.allow_missing = tuple(allow_missing)

    def before_run(self, runner) -> None:
        # only a training run initialises weights: a test or a validation
        # loads a trained checkpoint and needs no pretrain file
        if not isinstance(getattr(runner, '_train_loop', None), BaseLoop):
            return
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        for name, module in model.named_modules():
            for init_cfg in _pretrained_init_cfgs(module):
                self._check(name, module, init_cfg)

    def _check(self, name: str, module, init_cfg: dict) -> None:
        checkpoint = init_cfg.get('checkpoint')
        where = f'model.{name}.init_cfg.checkpoint' if name else \
            'model.init_cfg.checkpoint'
        if not checkpoint or ('://' not in checkpoint
                              and not osp.isfile(checkpoint)):
            raise FileNotFoundError(
                f'{where}={checkpoint!r}: no such checkpoint. Train the '
                'recipe that writes it or set '
                f'--cfg-options {where}=PATH')
        # what is missing or mis-shaped: a pretrain checkpoint holds more
        # than the module (decoder, head), so nothing is unexpected
        mismatch = weight_mismatch(module, checkpoint,
                                   init_cfg.get('prefix') or '')
        allowed = self.allow_missing + _plain_checkpoint_reuse(
            module, mismatch.missing)
        missing = [
            key for key in mismatch.missing if not key.startswith(allowed)
        ]
        if missing:
            shown = ', '.join(missing[:8]) + (
                f' and {len(missing) - 8} more' if len(missing) > 8 else '')
            raise ValueError(
                f'{where}={checkpoint!r} holds no weights for {shown} of '
                f'{type(module).__name__} (prefix '
                f'{init_cfg.get("prefix")!r}): a checkpoint of another model?'
                ' Point it at the right one, or list layers the new model '
                'adds in CheckPretrainedWeightsHook(allow_missing=...)')
        mis_shaped = [(key, theirs, ours)
                      for key, theirs, ours in mismatch.mis_shaped
                      if not key.startswith(self.allow_missing)
                      and key.rsplit('.', 1)[-1] not in self.RESHAPED_ON_LOAD]
        if mis_shaped:
            shown = ', '.join(f'{key}: {list(theirs)} in the checkpoint, '
                              f'{list(ours)} in the model'
                              for key, theirs, ours in mis_shaped[:4]) + (
                f' and {len(mis_shaped) - 4} more'
                if len(mis_shaped) > 4 else '')
            raise ValueError(
                f'{where}={checkpoint!r} holds weights of another shape '
                f'than {type(module).__name__} (prefix '
                f'{init_cfg.get("prefix")!r}): {shown}. A checkpoint of '
                'another size of the model? Point it at the right one')


def _plain_checkpoint_reuse(module, missing: Sequence[str]) -> tuple:
    """The reuse modules of a MaskAnyNet backbone (``reuse_modules``), as
    key beginnings, when the checkpoint holds none of their weights: a
    plain checkpoint, from which the backbone starts its reuse branch
    itself (the reuse stem from the stem, the fusion from its init). A
    checkpoint holding part of the branch gets nothing allowed."""
    beginnings = tuple(
        f'{name}.' for name in getattr(module, 'reuse_modules', ()))
    if not beginnings:
        return ()
    missing = set(missing)
    reuse_keys = [
        key for key in module.state_dict() if key.startswith(beginnings)
    ]
    return beginnings if all(key in missing for key in reuse_keys) else ()


def _pretrained_init_cfgs(module) -> list:
    init_cfg = getattr(module, 'init_cfg', None)
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    return [cfg for cfg in cfgs
            if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained']


@HOOKS.register_module()
class CheckFrozenReuseHook(Hook):
    """Stop a run at its start when a MaskAnyNet backbone freezes its reuse
    branch (``freeze_reuse=True`` under ``frozen_stages``) and no
    checkpoint filled it: neither an ``init_cfg`` checkpoint nor
    ``load_from`` nor ``--resume``. That branch would stay at its random
    init for the whole run, training nothing and feeding the trunk noise.

    ``tools/train.py`` adds it to every run; with the upstream tools add
    ``dict(type='mmmaskreuse.CheckFrozenReuseHook')`` to ``custom_hooks``.
    A backbone says which of its frozen reuse modules no checkpoint filled
    (``unfilled_frozen_reuse``); the check runs at ``before_train``, after
    mmengine has initialised the weights and loaded or resumed a
    checkpoint.
    """
    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        for name, module in model.named_modules():
            unfilled = getattr(module, 'unfilled_frozen_reuse', None)
            if unfilled is None or not unfilled():
                continue
            where = f'model.{name}'
            raise ValueError(
                f'{where} ({type(module).__name__}) freezes '
                f'{", ".join(unfilled())} (freeze_reuse=True, frozen_stages='
                f'{module.frozen_stages}), but no checkpoint filled them: '
                'they would stay at their random init for the whole run. '
                f'Load a MaskAnyNet checkpoint ({where}.init_cfg='
                "dict(type='Pretrained', checkpoint=PATH, prefix=...) or "
                f'load_from=PATH), or set {where}.freeze_reuse=False so '
                'they train')
