"""A training run that diverges stops and says so."""
import math
from typing import Optional

import torch
from mmengine.hooks import Hook

from mmmaskreuse.registry import HOOKS


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
            name: float(value) for name, value in outputs.items()
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
