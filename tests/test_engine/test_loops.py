"""ResumableEpochBasedTrainLoop continues an epoch where a checkpoint left
it, loading and shuffling its batches as the interrupted run would have."""
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler
from mmengine.logging import MessageHub
from torch.utils.data import DataLoader, Dataset

from mmmaskreuse.engine import ResumableEpochBasedTrainLoop
from mmmaskreuse.engine.loops import BATCHES_DONE, SAMPLER_SEED


class _Model:

    def __init__(self):
        self.seen = []

    def train(self):
        pass

    def train_step(self, data_batch, optim_wrapper):
        self.seen.append(data_batch.tolist())
        return {}


def _loop(name, done, iteration, epoch=1, loader=None):
    hub = MessageHub.get_instance(name)
    hub.update_info(BATCHES_DONE, done)
    hooks = []
    runner = SimpleNamespace(
        message_hub=hub, model=_Model(), optim_wrapper=None, seed=0,
        logger=SimpleNamespace(info=print),
        call_hook=lambda stage, **kw: hooks.append(
            (stage, kw.get('batch_idx'))))
    loop = ResumableEpochBasedTrainLoop(
        runner, loader or DataLoader(torch.arange(8), batch_size=2),
        max_epochs=3)
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


class _RandomlyAugmented(Dataset):
    """8 samples, each its index and what a transform draws from torch's,
    numpy's and Python's generators, as random flips and AutoAugment do."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return torch.tensor([index, torch.rand(1).item(), np.random.rand(),
                             random.random()], dtype=torch.float64)


def _generator_states():
    kind, key, pos, *gauss = np.random.get_state()
    return (torch.get_rng_state().tolist(), key.tolist(), pos, gauss,
            random.getstate())


def test_a_batch_draws_alike_resumed_or_not_with_workers_or_not():
    """Batch 3 of epoch 2 gets the same random transforms when the epoch
    runs whole in the main process and when it resumes after batch 2 with
    2 freshly started loader workers (whose own streams would start over);
    loading in the main process leaves its generators as they were."""
    # a generator of its own: a new loader iterator draws no seed from
    # torch's, so only loading could change that
    whole, _ = _loop('draws-whole', done=0, iteration=4, loader=DataLoader(
        _RandomlyAugmented(), batch_size=2, generator=torch.Generator()))
    before = _generator_states()
    whole.run_epoch()
    assert _generator_states() == before
    resumed, _ = _loop('draws-resumed', done=2, iteration=6,
                       loader=DataLoader(_RandomlyAugmented(), batch_size=2,
                                         num_workers=2))
    resumed.run_epoch()
    batches = whole.runner.model.seen
    assert resumed.runner.model.seen == batches[2:]
    draws = [sample[1:] for batch in batches for sample in batch]
    assert len({tuple(d) for d in draws}) == 8  # no two samples alike


def test_a_resumed_epoch_shuffles_with_the_interrupted_runs_seed():
    """A run whose config sets no seed draws a new one at each start: the
    resumed epoch still shuffles with the seed its checkpoint recorded."""
    def shuffled(seed):
        return DataLoader(torch.arange(8), batch_size=2,
                          sampler=DefaultSampler(torch.arange(8), seed=seed))

    interrupted, _ = _loop('shuffle-first', done=0, iteration=4,
                           loader=shuffled(1))
    interrupted.run_epoch()
    assert interrupted.runner.message_hub.get_info(SAMPLER_SEED) == 1
    loop, _ = _loop('shuffle-resumed', done=3, iteration=7,
                    loader=shuffled(2))
    loop.runner.message_hub.update_info(SAMPLER_SEED, 1)
    loop.run_epoch()
    assert loop.runner.model.seen == interrupted.runner.model.seen[3:]
    assert loop.dataloader.sampler.seed == 1
