"""An epoch-based training loop that can resume in the middle of an epoch.

mmengine's ``EpochBasedTrainLoop`` restarts an epoch from its first batch on
``--resume``: right for checkpoints saved at epoch ends, wrong for one saved
at an iteration inside an epoch (what :class:`SafeCheckpointHook` writes when
the run is preempted), which would train the epoch's first batches twice and
run past ``max_iters``.
"""
import itertools

from mmengine.dist import get_rank
from mmengine.runner import EpochBasedTrainLoop

from mmmaskreuse.registry import LOOPS
from .random_states import SeededBatch, batch_seed

#: message-hub key: batches of the current epoch a checkpoint has trained
BATCHES_DONE = 'epoch_batches_done'
#: message-hub key: the seed the train sampler shuffles with
SAMPLER_SEED = 'train_sampler_seed'


class _EpochBatches:
    """The batch sampler the loop gives the train loader: the batches of
    the one it wraps, each as a :class:`SeededBatch` seeded with
    ``batch_seed(seed, rank, epoch, index in the epoch)``, the first
    ``skip`` left out without being loaded; everything else (``len``,
    ``sampler``, ``set_epoch``) is the wrapped one's.

    It is in place before the loader's first iterator and stays: a
    persistent-worker loader iterator keeps the batch sampler it started
    with for the whole run.
    """

    def __init__(self, batch_sampler):
        self.batch_sampler = batch_sampler
        self.skip = 0
        # set by the loop as each epoch starts
        self.seed = self.rank = self.epoch = 0

    def __iter__(self):
        # the outermost iterable of a generator expression is made now:
        # the epoch's seeds and skip are fixed as its iteration starts
        seed, rank, epoch = self.seed, self.rank, self.epoch
        return (SeededBatch(indices, batch_seed(seed, rank, epoch, index))
                for index, indices in itertools.islice(
                    enumerate(self.batch_sampler), self.skip, None))

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def __getattr__(self, name):
        return getattr(self.__dict__['batch_sampler'], name)


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """mmengine's ``EpochBasedTrainLoop`` that continues an epoch where a
    checkpoint left it, drawing what the interrupted run would have drawn.

    A checkpoint saved inside an epoch records in its message hub how many
    of the epoch's batches it has trained (``epoch_batches_done``). The
    resumed epoch draws the same batch order and leaves those batches out
    at the batch-sampler level, so none is loaded, trained twice or lost,
    and the run ends after exactly ``max_iters`` iterations. Checkpoints
    saved at epoch ends behave as with mmengine's loop. The order is the
    same because mmengine's sampler shuffles with its seed and the epoch
    only, and every checkpoint records that seed (``train_sampler_seed``):
    a resumed run shuffles with it, not with the one it drew at its start
    (a config that sets no seed draws a new one each start; mmengine puts
    the checkpoint's back as the runner's seed, not the sampler's).

    Every batch is loaded as a :class:`SeededBatch`: its transforms (random
    flips, AutoAugment ...) draw from a seed made of the run's seed, the
    rank, the epoch and the batch's index in the epoch, not from a loader
    worker's stream, whose position depends on the batches the worker
    loaded since it started (which a resumed run, skipping batches with
    freshly started workers, does not repeat) and on the number of
    workers. The rest of a run's random states are restored by
    :class:`~mmmaskreuse.engine.RandomStatesHook`. Takes the same
    arguments; ``tools/train.py`` uses it in place of
    ``EpochBasedTrainLoop``.
    """

    _batch_offset = 0

    def run_epoch(self) -> None:
        batches = self.dataloader.batch_sampler
        if not isinstance(batches, _EpochBatches):
            batches = _EpochBatches(batches)
            # a DataLoader refuses a new batch sampler after construction;
            # no iterator exists yet before the first epoch
            object.__setattr__(self.dataloader, 'batch_sampler', batches)
        batches.seed, batches.rank, batches.epoch = (self.runner.seed,
                                                     get_rank(), self._epoch)
        self._shuffle_as_saved()
        hub = self.runner.message_hub
        done = hub.get_info(BATCHES_DONE, 0)
        if done:
            per_epoch = len(self.dataloader)
            if (self._iter - self._epoch * per_epoch != done
                    or done > per_epoch):
                raise RuntimeError(
                    f'the checkpoint stopped after batch {done} of epoch '
                    f'{self._epoch + 1} at iteration {self._iter}, which '
                    f'does not fit epochs of {per_epoch} batches: the '
                    'dataset or the batch size changed since it was saved')
            self.runner.logger.info(
                f'resuming epoch {self._epoch + 1} after its batch {done} '
                f'of {per_epoch}')
            # cleared before the epoch's own checkpoint is written
            hub.update_info(BATCHES_DONE, 0)
        batches.skip = self._batch_offset = done
        try:
            super().run_epoch()
        finally:
            batches.skip = self._batch_offset = 0

    def _shuffle_as_saved(self) -> None:
        """Give the sampler the seed the checkpoint's run shuffled with, and
        record it for the checkpoints of this one."""
        sampler = self.dataloader.sampler
        if not hasattr(sampler, 'seed'):  # e.g. mmdet's batch samplers
            sampler = getattr(self.dataloader.batch_sampler, 'sampler', None)
        if not isinstance(getattr(sampler, 'seed', None), int):
            return
        hub = self.runner.message_hub
        saved = hub.get_info(SAMPLER_SEED)
        if saved is not None and saved != sampler.seed:
            self.runner.logger.info(
                f'shuffling with the sampler seed of the resumed run, {saved}'
                f' (this one drew {sampler.seed})')
            sampler.seed = saved
        hub.update_info(SAMPLER_SEED, sampler.seed)

    def run_iter(self, idx, data_batch) -> None:
        # hooks see the batch's index in the whole epoch
        super().run_iter(idx + self._batch_offset, data_batch)
