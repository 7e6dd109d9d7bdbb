"""A checkpoint holds every generator a run draws from; ``--resume`` puts
them back, a new run loading the checkpoint does not."""
import random
from types import SimpleNamespace

import numpy as np
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from mmmaskreuse.engine import RandomStatesHook
from mmmaskreuse.models import MaskReuseClsDataPreprocessor


def _new_process():
    """A run's state as a new process starts it: the config's seed in every
    global generator, no mask generator yet."""
    for seed in (random.seed, np.random.seed, torch.manual_seed):
        seed(0)
    return SimpleNamespace(model=SimpleNamespace(
        data_preprocessor=MaskReuseClsDataPreprocessor()), iter=0)


def _draws(runner):
    """What dropout, Mixup, a transform and the masks draw next."""
    masks = runner.model.data_preprocessor.mask_rng(torch.device('cpu'))
    return (torch.rand(3).tolist(), np.random.rand(3).tolist(),
            random.random(), torch.rand(3, generator=masks).tolist())


def _saved_and_loaded(tmp_path, runner, iteration):
    """A checkpoint of ``runner`` after ``iteration`` iterations, as
    ``--resume`` reads it (mmengine's loader, the safe unpickling)."""
    checkpoint = dict(meta=dict(iter=iteration))
    RandomStatesHook().before_save_checkpoint(runner, checkpoint)
    torch.save(checkpoint, tmp_path / 'iter_7.pth')
    return CheckpointLoader.load_checkpoint(str(tmp_path / 'iter_7.pth'))


def test_a_resumed_run_draws_what_the_interrupted_one_would_have(tmp_path):
    interrupted = _new_process()
    _draws(interrupted)
    loaded = _saved_and_loaded(tmp_path, interrupted, 7)
    expected = _draws(interrupted)

    resumed = _new_process()
    resumed.iter = 7
    hook = RandomStatesHook()
    hook.after_load_checkpoint(resumed, loaded)
    torch.rand(1)  # what resuming draws itself (a new loader iterator)
    hook.before_train_iter(resumed, 3)
    assert _draws(resumed) == expected


def test_a_new_run_loading_a_checkpoint_keeps_its_own_draws(tmp_path):
    """``load_from``: the run starts at iteration 0, not the checkpoint's."""
    interrupted = _new_process()
    _draws(interrupted)
    loaded = _saved_and_loaded(tmp_path, interrupted, 7)

    fresh = _new_process()
    expected = _draws(fresh)
    fresh = _new_process()
    hook = RandomStatesHook()
    hook.after_load_checkpoint(fresh, loaded)
    hook.before_train_iter(fresh, 0)
    assert _draws(fresh) == expected
