"""Every random number a training run draws, again after ``--resume``.

A run draws from four kinds of sources: the MaskAnyNet data preprocessor's
mask generator, the process's global generators (torch's, on the CPU and
CUDA, numpy's and Python's ``random``: model dropout, batch augments such
as Mixup), the sampler's shuffle, and the data transforms in the loader
workers. A resumed run draws what the interrupted one would have drawn
when

* :class:`RandomStatesHook` saves the generators of every rank in the
  checkpoint and puts them back as the first resumed iteration starts;
* :class:`~mmmaskreuse.engine.ResumableEpochBasedTrainLoop` shuffles the
  resumed epoch with the sampler seed of the interrupted run and skips the
  batches it trained;
* that loop gives each batch a :class:`SeededBatch`: its transforms draw
  from a seed made of the run's seed, the rank, the epoch and the batch's
  index in the epoch, so it is augmented alike whichever worker loads it,
  how many workers there are and whether the epoch was resumed (a
  worker's own stream starts over when a resumed run starts it anew).
"""
import logging
import random
from typing import Iterator, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch.utils.data import DataLoader

from mmmaskreuse.registry import HOOKS

#: checkpoint key: one dict of generator states per rank, rank 0 first
CHECKPOINT_KEY = 'random_states'


def global_random_states() -> dict:
    """The CPU states of torch's, numpy's and Python's global generators,
    as types a safe checkpoint load accepts (tensors, ints, tuples)."""
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    return dict(torch=torch.get_rng_state(),
                numpy=(kind, torch.from_numpy(key.astype(np.int64)), pos,
                       has_gauss, gauss),
                random=random.getstate())


def set_global_random_states(states: dict) -> None:
    """Put back what :func:`global_random_states` returned."""
    kind, key, pos, has_gauss, gauss = states['numpy']
    np.random.set_state(
        (kind, key.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(states['torch'])
    random.setstate(states['random'])


def batch_seed(seed: int, rank: int, epoch: int, index: int) -> int:
    """The 64-bit seed of batch ``index`` of ``epoch`` on ``rank`` in a run
    seeded with ``seed``; numpy's ``SeedSequence`` mixes the four, so
    neighbouring batches, epochs and ranks get unrelated streams."""
    entropy = [seed % 2**64, rank, epoch, index]
    return int(np.random.SeedSequence(entropy).generate_state(
        1, np.uint64)[0])


class SeededBatch:
    """The dataset indices of one batch, whose loading draws its random
    numbers from ``seed``.

    torch's loader (in a worker, or in the main process without workers)
    reads a batch by iterating over it and loading ``dataset[index]``
    between two steps. Iterating over this batch therefore first seeds
    torch's (CPU), numpy's and Python's global generators, which the
    transforms draw from (mmcv's ``RandomFlip``: numpy; torchvision's
    ``AutoAugment``: torch), and puts their previous states back after the
    last index: in the main process, training draws continue as if the
    batch had not been loaded there. (A dataset with ``__getitems__`` gets
    the batch whole instead, and its transforms draw unseeded.)

    Args:
        indices (Sequence[int]): The batch's dataset indices.
        seed (int): Its seed, see :func:`batch_seed`.
    """

    def __init__(self, indices: Sequence[int], seed: int) -> None:
        self.indices = list(indices)
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        outer = global_random_states()
        random.seed(self.seed)
        np.random.seed([self.seed % 2**32, self.seed // 2**32 % 2**32])
        torch.default_generator.manual_seed(self.seed)
        try:
            yield from self.indices
        finally:
            set_global_random_states(outer)

    def __len__(self) -> int:
        return len(self.indices)

    def __repr__(self) -> str:
        return f'SeededBatch({self.indices}, seed={self.seed})'


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class RandomStatesHook(Hook):
    """Save the random generators of every rank in each checkpoint and put
    them back when ``--resume`` continues from it.

    Each rank's entry holds torch's CPU generator, the current CUDA
    device's (where CUDA is in use), numpy's and Python's global ones, and
    the mask generator of a MaskAnyNet data preprocessor (anything with
    ``get_mask_rng_state``). They are put back as the first resumed
    iteration starts, before its hooks, so what resuming itself draws
    (a new loader iterator draws a seed from torch's generator) changes
    nothing; a checkpoint loaded with ``load_from`` for a new run (its
    first iteration is not the checkpoint's) leaves them alone. A rank the
    checkpoint holds no entry for (it was saved by fewer ranks, or before
    this hook) keeps its fresh generators, and says so.

    The states are taken as the checkpoint hooks run: rank 0 saves and
    takes its own then; with several ranks the others' are gathered to it
    at each stage where mmengine's and our checkpoint hooks save (the end
    of an iteration, of an epoch and of a validation): one
    ``all_gather_object`` of about 20 kB per rank and iteration.

    The train and val loaders get a generator of their own (seeded with
    the run's seed) unless they have one: a new loader iterator (each
    epoch's without ``persistent_workers``, each validation's) draws its
    workers' base seed from it, not from torch's global generator, which
    would otherwise advance between an epoch's checkpoint and the next
    iteration in the uninterrupted run only. That seed is overridden in
    the workers anyway (mmengine's ``worker_init_fn``, then each
    :class:`SeededBatch`).

    Resuming from a checkpoint saved inside an epoch (what
    :class:`SafeCheckpointHook` writes on SIGTERM) gives the uninterrupted
    run's draws exactly. One saved at an epoch's end gives them as long as
    nothing else between that save and the next iteration draws from the
    global generators (a validation of a model with random layers would).

    ``tools/train.py`` adds this hook to every run; with the upstream tools
    add ``dict(type='mmmaskreuse.RandomStatesHook')`` to ``custom_hooks``.
    """
    priority = 'VERY_HIGH'  # put back before any other hook draws

    def __init__(self) -> None:
        self._gathered: Optional[List[dict]] = None
        self._resumed: Optional[dict] = None

    def before_train(self, runner) -> None:
        for loop in (runner.train_loop, runner.val_loop):
            loader = getattr(loop, 'dataloader', None)
            if isinstance(loader, DataLoader) and loader.generator is None:
                loader.generator = torch.Generator()
                loader.generator.manual_seed(runner.seed % 2**64)

    def _states(self, runner) -> dict:
        states = global_random_states()
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            states['cuda'] = torch.cuda.get_rng_state()
        preprocessor = getattr(_unwrap(runner.model), 'data_preprocessor',
                               None)
        if hasattr(preprocessor, 'get_mask_rng_state'):
            states['mask'] = preprocessor.get_mask_rng_state()
        return states

    def _gather(self, runner) -> None:
        # only rank 0 runs before_save_checkpoint (mmengine's
        # Runner.save_checkpoint is master_only): the others' states must
        # reach it before, while every rank is in the same hook stage
        if get_world_size() > 1:
            self._gathered = all_gather_object(self._states(runner))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        self._gather(runner)

    def after_train_epoch(self, runner) -> None:
        self._gather(runner)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._gather(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        ranks = list(self._gathered or [None])
        ranks[0] = self._states(runner)
        checkpoint[CHECKPOINT_KEY] = ranks

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # whether it resumes shows at the first iteration: --resume
        # continues with the checkpoint's, load_from starts at 0
        ranks = checkpoint.get(CHECKPOINT_KEY) or []
        rank = get_rank()
        self._resumed = dict(
            iter=checkpoint.get('meta', {}).get('iter'),
            states=ranks[rank] if rank < len(ranks) else None,
            ranks=len(ranks))

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        resumed, self._resumed = self._resumed, None
        if resumed is None or runner.iter != resumed['iter']:
            return
        states = resumed['states']
        if states is None:
            print_log(
                f'the checkpoint holds no random states for rank '
                f'{get_rank()} (it holds {resumed["ranks"]}): this resumed '
                'run draws other masks, augmentations and dropout than the '
                'interrupted one would have', logger='current',
                level=logging.WARNING)
            return
        set_global_random_states(states)
        if 'cuda' in states and torch.cuda.is_available():
            torch.cuda.set_rng_state(states['cuda'])
        preprocessor = getattr(_unwrap(runner.model), 'data_preprocessor',
                               None)
        if states.get('mask') is not None and hasattr(
                preprocessor, 'set_mask_rng_state'):
            preprocessor.set_mask_rng_state(states['mask'])
