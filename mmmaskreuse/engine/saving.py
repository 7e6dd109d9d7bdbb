"""Checkpoints that a kill, a full disk or a preemption cannot corrupt.

* Local files are written to a temporary name in the same folder and renamed
  into place (:class:`AtomicLocalBackend`, registered as mmengine's ``local``
  backend): a checkpoint path either holds a complete file or none.
  The file gets the mode a plain ``open()`` would give it. A write that
  finds no room raises :class:`NoRoomError`, naming the file, its size and
  the space left.
* :class:`SafeCheckpointHook` deletes an old checkpoint (``max_keep_ckpts``)
  or an old best one (``save_best``) only after the new one is complete;
  mmengine's hook deletes it first.
* :class:`SafeCheckpointHook` also turns a SIGTERM (what SLURM and cloud
  schedulers send before they stop a job) or a SIGINT (Ctrl-C) into a
  checkpoint at the end of the running iteration, then stops the run:
  ``--resume`` loses nothing.
* :func:`checkpoint_to_resume` picks what ``--resume`` continues from: the
  file ``last_checkpoint`` names if it is complete, else the newest complete
  one (saying so), and refuses to start from scratch beside checkpoints it
  cannot use.
"""
import errno
import glob
import os
import os.path as osp
import shutil
import signal
import tempfile
import threading
import zipfile
from collections import deque
from contextlib import contextmanager
from typing import Callable, Optional, Tuple

import torch
from mmengine.dist import (all_reduce, barrier, get_world_size,
                           is_main_process)
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader

from mmmaskreuse.registry import HOOKS
from .dist import LAUNCHER_PID_ENV, STOP_RECORD_ENV
from .loops import BATCHES_DONE, ResumableEpochBasedTrainLoop

# what a killed write leaves beside its target: .<name>.<random>.part
_PARTIAL_SUFFIX = '.part'

# a full disk, a full quota, a file size limit (``ulimit -f``)
_NO_ROOM_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _mib(size: int) -> str:
    return f'{size / 2**20:.1f} MiB'


class NoRoomError(OSError):
    """A file that found no room to be written.

    Args:
        error (OSError): What the write raised (ENOSPC, EDQUOT or EFBIG).
        filepath (str): The file.
        needed (int): Its size, in bytes.
    """

    def __init__(self, error: OSError, filepath: str, needed: int) -> None:
        self.filepath = filepath
        self.needed = needed
        self.free = shutil.disk_usage(osp.dirname(filepath)).free
        super().__init__(
            error.errno, f'no room to write {filepath}: it needs '
            f'{_mib(needed)}, {_mib(self.free)} are left there '
            f'({error.strerror})')


def _current_umask() -> int:
    # os.umask can only swap: the most restrictive mask stands in for the
    # moment, so a file another thread creates meanwhile is private, not open
    umask = os.umask(0o077)
    os.umask(umask)
    return umask


class AtomicLocalBackend(LocalBackend):
    """mmengine's local backend whose writes are atomic: the bytes go to a
    temporary file beside the target, which is renamed over it once
    complete and flushed to disk. The file gets the mode ``open()`` would
    give a new one (``0o666`` less the umask; ``mkstemp`` makes it
    ``0o600``). A write that finds no room raises :class:`NoRoomError`."""

    def put(self, obj: bytes, filepath) -> None:
        filepath = osp.abspath(filepath)
        folder = osp.dirname(filepath)
        os.makedirs(folder, exist_ok=True)
        handle, partial = tempfile.mkstemp(
            dir=folder, prefix=f'.{osp.basename(filepath)}.',
            suffix=_PARTIAL_SUFFIX)
        try:
            with os.fdopen(handle, 'wb') as f:
                os.fchmod(f.fileno(), 0o666 & ~_current_umask())
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, filepath)
        except BaseException as error:
            if osp.exists(partial):
                os.remove(partial)
            if (isinstance(error, OSError)
                    and error.errno in _NO_ROOM_ERRNOS):
                raise NoRoomError(error, filepath, len(obj)) from error
            raise

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


register_backend('local', AtomicLocalBackend, force=True, prefixes='')


class WorkerKeepsServing:
    """A loader's ``worker_init_fn`` after which the worker outlives a
    SIGTERM that its parent did not send (a scheduler's signal to every
    process of the job) and any SIGINT (Ctrl-C, which reaches every process
    of the terminal's group; torchrun forwards it to each rank's group), so
    the rank can finish its iteration and save.

    torch's worker exits on any SIGTERM from elsewhere, and its loop ends
    on a SIGINT; here SIGINT is ignored and a thread takes SIGTERM with
    ``sigwaitinfo`` (blocked for the rest of the worker) and exits only
    when the sender is the parent, as torch's handler does then. The worker
    still stops when the parent shuts it down, terminates it or dies
    (torch's watchdog), and SIGKILL still kills it.

    Args:
        worker_init_fn (callable, optional): The loader's own function,
            called first with the worker id.
    """

    def __init__(self, worker_init_fn: Optional[Callable] = None) -> None:
        self.worker_init_fn = worker_init_fn

    def __call__(self, worker_id: int) -> None:
        if self.worker_init_fn is not None:
            self.worker_init_fn(worker_id)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        threading.Thread(
            target=_exit_on_sigterm_from, args=(os.getppid(), ),
            name='sigterm-from-parent', daemon=True).start()


def _exit_on_sigterm_from(parent: int) -> None:
    while signal.sigwaitinfo({signal.SIGTERM}).si_pid != parent:
        pass
    os._exit(0)


class _DefaultSigtermInForkedChildren:
    """Gives SIGTERM its default action back in every process forked while
    :class:`SafeCheckpointHook` handles it (a multiprocessing pool's
    worker, as in mmdet's VOC evaluation during training).

    A Python-level handler runs only in the main thread between bytecodes,
    and Python drops a signal that arrives while the child is still being
    set up after ``fork``: a worker could then outlive ``Pool.terminate()``,
    and the pool's finaliser in the trainer would wait for it forever (seen
    as a Faster R-CNN run that hung after its VOC evaluation). So SIGTERM is
    blocked in the forking thread across ``fork`` and unblocked in the child
    only once its action is the default: a signal sent meanwhile waits, then
    ends the child.
    """

    def __init__(self) -> None:
        self._masks = threading.local()

    def _active(self) -> bool:
        handler = signal.getsignal(signal.SIGTERM)
        return getattr(handler, '__func__', None) is \
            SafeCheckpointHook._note_signal

    def before(self) -> None:
        self._masks.previous = None
        if self._active():
            self._masks.previous = signal.pthread_sigmask(
                signal.SIG_BLOCK, {signal.SIGTERM})

    def after_in_parent(self) -> None:
        if self._masks.previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self._masks.previous)

    def after_in_child(self) -> None:
        previous = getattr(self._masks, 'previous', None)
        if previous is not None:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


_fork_guard = _DefaultSigtermInForkedChildren()
os.register_at_fork(
    before=_fork_guard.before,
    after_in_parent=_fork_guard.after_in_parent,
    after_in_child=_fork_guard.after_in_child)


class _RemovalsDeferred:
    """A file backend whose removals wait for :meth:`flush`; everything
    else is the wrapped backend's.

    Args:
        backend: The hook's file backend.
    """

    def __init__(self, backend) -> None:
        self.backend = backend
        self.pending = []

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def remove(self, path) -> None:
        self.pending.append((self.backend.remove, path))

    def rmtree(self, path) -> None:
        self.pending.append((self.backend.rmtree, path))

    def flush(self, keep=()) -> None:
        """Make the removals, except of the paths in ``keep``."""
        for remove, path in self.pending:
            if path not in keep:
                remove(path)
        self.pending = []


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` that removes the oldest of
    ``max_keep_ckpts`` checkpoints, or the previous best one
    (``save_best``), only once the new one is written, so a run killed
    while saving keeps its previous checkpoint (with ``max_keep_ckpts=1``,
    or with ``save_best``, mmengine's hook would have deleted it already).
    Takes the same arguments.

    **Room.** A save needs room for one checkpoint more than the hook
    keeps: ``max_keep_ckpts + 1`` while a periodic one is written, two best
    ones while a new best is. A save that finds no room stops the run with
    an error naming the file, its size, the space left and what the keep
    policy needs (:class:`NoRoomError`); every earlier checkpoint is kept.

    **Leftovers.** A run that resumes removes the partial files
    (``.<name>.<random>.part``) that kills while saving left in its
    checkpoint folder, naming them in the log.

    **Preemption.** While training, SIGTERM or SIGINT no longer kills the
    process at once: the running iteration finishes, the hook saves
    ``iter_{N}.pth`` (N iterations trained; ``last_checkpoint`` names it)
    and the run exits with status 128 + the signal (143 for SIGTERM, 130
    for SIGINT). All ranks of a distributed run stop after the same
    iteration (a one-element all-reduce per iteration). ``--resume`` then
    continues with iteration N + 1; inside an epoch that needs
    :class:`ResumableEpochBasedTrainLoop` (``tools/train.py`` uses it),
    mmengine's loop would restart the epoch. The iteration must end within
    the scheduler's grace period (torchrun forwards SIGTERM to its workers
    and kills them 30 s later; SLURM's ``KillWait`` defaults to 30 s). The
    file stays beside the rotated ones (``max_keep_ckpts`` does not count
    it). Under ``tools/dist_train.sh`` each node's local rank 0 tells the
    launcher, once the file is complete, so that the script exits with the
    same status and says how to resume.

    Loader workers: a scheduler signals every process of a rank (torchrun
    its process group, SLURM its cgroup), and torch's workers exit on a
    SIGTERM that their parent did not send. A rank caught fetching a batch
    would then fail with "worker exited unexpectedly", and its peers with a
    closed connection, with nothing saved. So the hook gives the train and
    val loaders' workers :class:`WorkerKeepsServing` as ``worker_init_fn``
    (wrapping the configured one): they ignore such a signal and exit as
    usual when their parent shuts them down (or dies). With the ``spawn``
    start method the wrapper travels by pickle, like any ``worker_init_fn``.
    Any other process forked from the trainer (a multiprocessing pool) gets
    SIGTERM's default action back, so ``Pool.terminate()`` still ends it.
    """

    _stop_signal = None
    _stop_signals = (signal.SIGTERM, signal.SIGINT)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self.max_keep_ckpts > 0:
            # upstream's deque has maxlen=max_keep_ckpts and would drop an
            # id (never deleting its file) while one more is kept
            self.keep_ckpt_ids = deque(self.keep_ckpt_ids)
        # mmengine's Runner keeps --resume to itself
        if getattr(runner, '_resume', False) and is_main_process():
            self._remove_partial_files(runner)
        self._previous_handlers = {}
        for loop in (runner.train_loop, runner.val_loop):
            loader = getattr(loop, 'dataloader', None)
            if (isinstance(loader, DataLoader) and loader.num_workers > 0
                    and not isinstance(loader.worker_init_fn,
                                       WorkerKeepsServing)):
                loader.worker_init_fn = WorkerKeepsServing(
                    loader.worker_init_fn)
        if threading.current_thread() is threading.main_thread():
            for signum in self._stop_signals:
                self._previous_handlers[signum] = signal.signal(
                    signum, self._note_signal)

    def _remove_partial_files(self, runner) -> None:
        if not isinstance(self.file_backend, AtomicLocalBackend):
            return
        partials = sorted(
            glob.glob(osp.join(self.out_dir, '.*' + _PARTIAL_SUFFIX)))
        for path in partials:
            os.remove(path)
        if partials:
            runner.logger.warning(
                f'removed {len(partials)} partial file(s) that saves cut '
                f'short by a kill left: {", ".join(partials)}')

    def _note_signal(self, signum, frame) -> None:
        self._stop_signal = signum

    def after_train(self, runner) -> None:
        super().after_train(runner)
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)

    @contextmanager
    def _naming_the_room_needed(self, runner):
        try:
            yield
        except NoRoomError as error:
            keep = self.max_keep_ckpts
            policy = (
                f'with max_keep_ckpts={keep} the folder holds up to '
                f'{keep + 1} checkpoints while one is saved (the oldest goes '
                f'once the new one is complete), about '
                f'{_mib((keep + 1) * error.needed)}'
                if keep > 0 else 'every checkpoint is kept (max_keep_ckpts='
                f'{keep})')
            runner.logger.error(
                f'{error.strerror}. Saves need room: {policy}, plus the best '
                'ones (save_best: two while a new best is written). Free '
                'space or lower max_keep_ckpts; the checkpoints saved before '
                'are complete and --resume continues from the last one.')
            raise

    def after_train_epoch(self, runner) -> None:
        with self._naming_the_room_needed(runner):
            super().after_train_epoch(runner)

    def after_val_epoch(self, runner, metrics) -> None:
        with self._naming_the_room_needed(runner):
            super().after_val_epoch(runner, metrics)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        with self._naming_the_room_needed(runner):
            super().after_train_iter(runner, batch_idx, data_batch, outputs)
            # the signal number: every rank stops, on the same signal
            stop = torch.tensor([self._stop_signal or 0])
            if get_world_size() > 1:  # one rank's signal stops every rank
                all_reduce(stop, op='max')
            if stop.item():
                self._save_and_stop(runner, batch_idx, int(stop.item()))

    def _save_and_stop(self, runner, batch_idx: int, signum: int) -> None:
        step = runner.iter + 1
        loop = runner.train_loop
        if isinstance(loop, EpochBasedTrainLoop):
            runner.message_hub.update_info(BATCHES_DONE, batch_idx + 1)
        path = self.file_backend.join_path(self.out_dir, f'iter_{step}.pth')
        runner.save_checkpoint(
            self.out_dir,
            osp.basename(path),
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=dict(epoch=runner.epoch, iter=step),
            by_epoch=False,
            backend_args=self.backend_args)
        if is_main_process():
            with open(osp.join(runner.work_dir, 'last_checkpoint'), 'w') as f:
                f.write(path)
        name = signal.Signals(signum).name
        runner.logger.warning(
            f'{name}: stopped after iteration {step} and saved {path}; '
            '--resume continues from it')
        if (isinstance(loop, EpochBasedTrainLoop)
                and not isinstance(loop, ResumableEpochBasedTrainLoop)):
            runner.logger.warning(
                f'{type(loop).__name__} restarts an epoch on resume; use '
                'mmmaskreuse.ResumableEpochBasedTrainLoop to continue it')
        barrier()  # rank 0 has written the file
        _tell_the_launcher(signum, path)
        raise SystemExit(128 + signum)

    def _save_checkpoint_with_step(self, runner, step, meta):
        keep = self.max_keep_ckpts
        if keep <= 0:
            return super()._save_checkpoint_with_step(runner, step, meta)
        # one more kept while saving: upstream deletes before it writes
        self.max_keep_ckpts = keep + 1
        try:
            super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self.max_keep_ckpts = keep
        while len(self.keep_ckpt_ids) > keep:
            old = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(
                    self.keep_ckpt_ids.popleft()))
            if is_main_process() and self.file_backend.isfile(old):
                self.file_backend.remove(old)
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        # upstream removes the previous best before it writes the new one:
        # its removals wait until every new best is complete
        backend = self.file_backend
        self.file_backend = deferred = _RemovalsDeferred(backend)
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = backend
        # a best saved again under its own name must stay
        deferred.flush(keep={
            getattr(self, 'best_ckpt_path', None),
            *getattr(self, 'best_ckpt_path_dict', {}).values()
        })


def _tell_the_launcher(signum: int, checkpoint: str) -> None:
    """Leave ``tools/misc/resumable_torchrun.py`` (``dist_train.sh``'s
    launcher) the signal and the checkpoint, once a node, while it is
    there to read them."""
    record = os.environ.get(STOP_RECORD_ENV)
    if (not record or os.environ.get('LOCAL_RANK', '0') != '0'
            or os.environ.get(LAUNCHER_PID_ENV) != str(os.getppid())):
        return
    with open(record, 'w') as f:
        f.write(f'{signum}\n{checkpoint}\n')


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a whole ``torch.save`` file (a zip archive whose
    directory, written last, is there): a truncated one is not."""
    return osp.isfile(path) and zipfile.is_zipfile(path)


def checkpoint_to_resume(work_dir: str) -> Tuple[Optional[str], str]:
    """The checkpoint ``--resume`` continues from, and why.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        tuple[str | None, str]: The path (None: start from scratch, the
        work dir holds no checkpoint) and a sentence for the log.

    Raises:
        RuntimeError: Checkpoints exist but none is complete.
    """
    found = sorted(glob.glob(osp.join(work_dir, '*.pth')),
                   key=osp.getmtime, reverse=True)
    last_file = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(last_file):
        with open(last_file) as f:
            named = f.read().strip() or None
    if named and is_complete_checkpoint(named):
        return named, f'resuming from {named} (last_checkpoint)'
    complete = [path for path in found if is_complete_checkpoint(path)]
    if complete:
        why = (f'last_checkpoint names {named}, which is missing or '
               'incomplete' if named else 'no last_checkpoint')
        return complete[0], (f'{why}; resuming from the newest complete '
                             f'checkpoint, {complete[0]}')
    if found or named:
        raise RuntimeError(
            f'--resume found no complete checkpoint in {work_dir} '
            f'(last_checkpoint: {named}; incomplete: {", ".join(found)}); '
            'remove them to train from scratch')
    return None, f'no checkpoint in {work_dir}: training from scratch'
