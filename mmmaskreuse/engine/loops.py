"""An epoch-based training loop that can resume in the middle of an epoch.

mmengine's ``EpochBasedTrainLoop`` restarts an epoch from its first batch on
``--resume``: right for checkpoints saved at epoch ends, wrong for one saved
at an iteration inside an epoch (what :class:`SafeCheckpointHook` writes when
the run is preempted), which would train the epoch's first batches twice and
run past ``max_iters``.
"""
import itertools

from mmengine.runner import EpochBasedTrainLoop

from mmmaskreuse.registry import LOOPS

#: message-hub key: batches of the current epoch a checkpoint has trained
BATCHES_DONE = 'epoch_batches_done'


class _SkipFirstBatches:
    """A batch sampler that leaves out the first ``count`` batches of the
    one it wraps, without loading them; everything else (``len``,
    ``sampler``, ``set_epoch``) is the wrapped one's.

    It stays in place after the resumed epoch with ``count = 0``: a
    persistent-worker loader iterator keeps the batch sampler it started
    with for the whole run.
    """

    def __init__(self, batch_sampler, count: int):
        self.batch_sampler = batch_sampler
        self.count = count

    def __iter__(self):
        return itertools.islice(iter(self.batch_sampler), self.count, None)

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def __getattr__(self, name):
        return getattr(self.__dict__['batch_sampler'], name)


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """mmengine's ``EpochBasedTrainLoop`` that continues an epoch where a
    checkpoint left it.

    A checkpoint saved inside an epoch records in its message hub how many
    of the epoch's batches it has trained (``epoch_batches_done``). The
    resumed epoch draws the same batch order (the sampler's shuffle depends
    on the seed and the epoch only) and leaves those batches out at the
    batch-sampler level, so none is loaded, trained twice or lost, and the
    run ends after exactly ``max_iters`` iterations. Checkpoints saved at
    epoch ends behave as with mmengine's loop. Takes the same arguments;
    ``tools/train.py`` uses it in place of ``EpochBasedTrainLoop``.
    """

    _batch_offset = 0

    def run_epoch(self) -> None:
        hub = self.runner.message_hub
        done = hub.get_info(BATCHES_DONE, 0)
        if not done:
            return super().run_epoch()
        per_epoch = len(self.dataloader)
        if self._iter - self._epoch * per_epoch != done or done > per_epoch:
            raise RuntimeError(
                f'the checkpoint stopped after batch {done} of epoch '
                f'{self._epoch + 1} at iteration {self._iter}, which does not '
                f'fit epochs of {per_epoch} batches: the dataset or the batch '
                'size changed since it was saved')
        batches = self.dataloader.batch_sampler
        if not isinstance(batches, _SkipFirstBatches):
            batches = _SkipFirstBatches(batches, 0)
            # a DataLoader refuses a new batch sampler after construction;
            # no iterator exists yet in a run that has just resumed
            object.__setattr__(self.dataloader, 'batch_sampler', batches)
        self.runner.logger.info(
            f'resuming epoch {self._epoch + 1} after its batch {done} of '
            f'{per_epoch}')
        # cleared before the epoch's own checkpoint is written
        hub.update_info(BATCHES_DONE, 0)
        batches.count = self._batch_offset = done
        try:
            super().run_epoch()
        finally:
            batches.count = self._batch_offset = 0

    def run_iter(self, idx, data_batch) -> None:
        # hooks see the batch's index in the whole epoch
        super().run_iter(idx + self._batch_offset, data_batch)
