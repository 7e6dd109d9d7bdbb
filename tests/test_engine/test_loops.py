"""ResumableEpochBasedTrainLoop continues an epoch where a checkpoint left
it."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from torch.utils.data import DataLoader

from mmmaskreuse.engine import ResumableEpochBasedTrainLoop
from mmmaskreuse.engine.loops import BATCHES_DONE


class _Model:

    def __init__(self):
        self.seen = []

    def train(self):
        pass

    def train_step(self, data_batch, optim_wrapper):
        self.seen.append(data_batch.tolist())
        return {}


def _loop(name, done, iteration, epoch=1):
    hub = MessageHub.get_instance(name)
    hub.update_info(BATCHES_DONE, done)
    hooks = []
    runner = SimpleNamespace(
        message_hub=hub, model=_Model(), optim_wrapper=None,
        logger=SimpleNamespace(info=print),
        call_hook=lambda stage, **kw: hooks.append(
            (stage, kw.get('batch_idx'))))
    loop = ResumableEpochBasedTrainLoop(
        runner, DataLoader(torch.arange(8), batch_size=2), max_epochs=3)
    loop._epoch, loop._iter = epoch, iteration
    return loop, hooks


def test_a_resumed_epoch_trains_only_the_batches_after_the_saved_one():
    loop, hooks = _loop('resume-mid', done=3, iteration=7)
    loop.run_epoch()
    assert loop.runner.model.seen == [[6, 7]]
    assert [idx for stage, idx in hooks if stage == 'after_train_iter'] == [3]
    assert loop.iter == 8 and loop.epoch == 2
    assert loop.runner.message_hub.get_info(BATCHES_DONE) == 0
    loop.run_epoch()  # the next epoch is whole again
    assert loop.runner.model.seen[1:] == [[0, 1], [2, 3], [4, 5], [6, 7]]


def test_an_epoch_of_another_length_is_refused():
    loop, _ = _loop('resume-other-length', done=3, iteration=6)
    with pytest.raises(RuntimeError, match='batch 3 of epoch 2 at iteration '
                       '6, which does not fit epochs of 4 batches'):
        loop.run_epoch()
