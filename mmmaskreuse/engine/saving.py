"""Checkpoints that a kill, a full disk or a preemption cannot corrupt.

* Local files are written to a temporary name in the same folder and renamed
  into place (:class:`AtomicLocalBackend`, registered as mmengine's ``local``
  backend): a checkpoint path either holds a complete file or none.
* :class:`SafeCheckpointHook` deletes an old checkpoint (``max_keep_ckpts``)
  only after the new one is complete; mmengine's hook deletes it first.
* :func:`checkpoint_to_resume` picks what ``--resume`` continues from: the
  file ``last_checkpoint`` names if it is complete, else the newest complete
  one (saying so), and refuses to start from scratch beside checkpoints it
  cannot use.
"""
import glob
import os
import os.path as osp
import tempfile
import zipfile
from collections import deque
from typing import Optional, Tuple

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook

from mmmaskreuse.registry import HOOKS


class AtomicLocalBackend(LocalBackend):
    """mmengine's local backend whose writes are atomic: the bytes go to a
    temporary file beside the target, which is renamed over it once
    complete and flushed to disk."""

    def put(self, obj: bytes, filepath) -> None:
        folder = osp.dirname(osp.abspath(filepath))
        os.makedirs(folder, exist_ok=True)
        handle, partial = tempfile.mkstemp(
            dir=folder, prefix=f'.{osp.basename(filepath)}.', suffix='.part')
        try:
            with os.fdopen(handle, 'wb') as f:
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, filepath)
        except BaseException:
            if osp.exists(partial):
                os.remove(partial)
            raise

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


register_backend('local', AtomicLocalBackend, force=True, prefixes='')


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` that removes the oldest of
    ``max_keep_ckpts`` checkpoints only once the newest is written, so a
    run killed while saving keeps its previous checkpoint (with
    ``max_keep_ckpts=1`` mmengine's hook would have deleted it already).
    Takes the same arguments."""

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self.max_keep_ckpts > 0:
            # upstream's deque has maxlen=max_keep_ckpts and would drop an
            # id (never deleting its file) while one more is kept
            self.keep_ckpt_ids = deque(self.keep_ckpt_ids)

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
