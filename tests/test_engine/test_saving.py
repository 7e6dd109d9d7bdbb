"""Checkpoints survive a kill, a full disk or a preemption."""
import ctypes
import errno
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.logging import MessageHub

from mmmaskreuse.engine import (AtomicLocalBackend, SafeCheckpointHook,
                                checkpoint_to_resume)
from mmmaskreuse.engine import saving


@pytest.fixture(autouse=True)
def keep_signal_handlers():
    """The hook takes SIGTERM and SIGINT over in before_train; give them
    back."""
    handlers = {signum: signal.getsignal(signum)
                for signum in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


def test_local_writes_go_through_the_atomic_backend(tmp_path):
    assert isinstance(get_file_backend(str(tmp_path / 'a.pth')),
                      AtomicLocalBackend)


def test_a_failed_write_leaves_the_old_file_and_no_partial(tmp_path,
                                                           monkeypatch):
    path = tmp_path / 'epoch_1.pth'
    backend = AtomicLocalBackend()
    backend.put(b'complete', str(path))

    def disk_full(fd):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', disk_full)
    with pytest.raises(OSError, match='No space left'):
        backend.put(b'half of a newer one', str(path))
    assert path.read_bytes() == b'complete'
    assert os.listdir(tmp_path) == ['epoch_1.pth']


@pytest.mark.parametrize('umask', [0o022, 0o027])
def test_a_checkpoint_gets_the_mode_a_plain_open_would(tmp_path, umask):
    previous = os.umask(umask)
    try:
        AtomicLocalBackend().put(b'weights', str(tmp_path / 'epoch_1.pth'))
        (tmp_path / 'last_checkpoint').write_text('epoch_1.pth')
    finally:
        os.umask(previous)
    modes = {path.name: path.stat().st_mode & 0o777
             for path in tmp_path.iterdir()}
    assert modes == {'epoch_1.pth': 0o666 & ~umask,
                     'last_checkpoint': 0o666 & ~umask}


class _Runner(SimpleNamespace):
    """What CheckpointHook reads of a Runner; save_checkpoint records the
    files present when each new checkpoint is written."""

    def save_checkpoint(self, out_dir, filename, *args, **kwargs):
        self.present.append(sorted(os.listdir(out_dir)))
        self.saved.append((filename, kwargs.get('meta')))
        torch.save(dict(state_dict={}), os.path.join(out_dir, filename))


@pytest.mark.parametrize('keep', [1, 2])
def test_the_oldest_checkpoint_goes_only_after_the_newest_is_written(
        tmp_path, keep):
    runner = _Runner(work_dir=str(tmp_path), present=[], saved=[],
                     train_loop=None, val_loop=None,
                     message_hub=MessageHub.get_instance(f'save{keep}'),
                     logger=SimpleNamespace(info=print))
    hook = SafeCheckpointHook(interval=1, max_keep_ckpts=keep)
    hook.before_train(runner)
    for epoch in (1, 2, 3):
        hook._save_checkpoint_with_step(runner, epoch, meta={})
    files = sorted(p for p in os.listdir(tmp_path) if p.endswith('.pth'))
    assert files == [f'epoch_{e}.pth' for e in range(4 - keep, 4)]
    # when epoch 3 was written, the last `keep` before it were still there
    assert [p for p in runner.present[2] if p.endswith('.pth')] == [
        f'epoch_{e}.pth' for e in range(3 - keep, 3)]
    assert runner.message_hub.get_info('keep_ckpt_ids') == list(
        range(4 - keep, 4))


def test_the_previous_best_goes_only_after_the_new_best_is_written(
        tmp_path):
    runner = _Runner(work_dir=str(tmp_path), present=[], saved=[], epoch=0,
                     iter=0, train_loop=None, val_loop=None,
                     message_hub=MessageHub.get_instance('save-best'),
                     logger=SimpleNamespace(info=print, warning=print))
    hook = SafeCheckpointHook(interval=1, save_best='accuracy/top1')
    hook.before_train(runner)
    for epoch, top1 in ((1, 50.0), (2, 40.0), (3, 70.0)):
        runner.epoch = epoch
        hook.after_val_epoch(runner, {'accuracy/top1': top1})
    assert [name for name, _ in runner.saved] == [
        'best_accuracy_top1_epoch_1.pth', 'best_accuracy_top1_epoch_3.pth']
    # the new best was written beside the previous one, which then went
    assert runner.present[1] == ['best_accuracy_top1_epoch_1.pth']
    assert os.listdir(tmp_path) == ['best_accuracy_top1_epoch_3.pth']
    assert runner.message_hub.get_info('best_ckpt') == str(
        tmp_path / 'best_accuracy_top1_epoch_3.pth')


class _NoRoomRunner(_Runner):
    """Its checkpoints (3 MiB) meet a full disk."""

    def save_checkpoint(self, out_dir, filename, *args, **kwargs):
        AtomicLocalBackend().put(bytes(3 * 2**20),
                                 os.path.join(out_dir, filename))


def test_a_full_disk_names_the_file_the_size_and_the_space_left(
        tmp_path, monkeypatch):
    def disk_full(fd):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', disk_full)
    monkeypatch.setattr(saving.shutil, 'disk_usage',
                        lambda path: SimpleNamespace(free=2**20))
    errors = []
    runner = _NoRoomRunner(
        work_dir=str(tmp_path), epoch=0, iter=4, max_epochs=2,
        train_loop=None, val_loop=None,
        message_hub=MessageHub.get_instance('no-room'),
        logger=SimpleNamespace(info=print, error=errors.append))
    hook = SafeCheckpointHook(interval=1, max_keep_ckpts=2)
    hook.before_train(runner)
    with pytest.raises(saving.NoRoomError) as error:
        hook.after_train_epoch(runner)
    path = tmp_path / 'epoch_1.pth'
    assert str(error.value) == (
        f'[Errno 28] no room to write {path}: it needs 3.0 MiB, 1.0 MiB are '
        'left there (No space left on device)')
    assert len(errors) == 1
    assert errors[0].startswith(f'no room to write {path}: it needs 3.0 MiB')
    assert ('with max_keep_ckpts=2 the folder holds up to 3 checkpoints '
            'while one is saved') in errors[0]
    assert 'about 9.0 MiB' in errors[0]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('resume', [True, False])
def test_a_resumed_run_removes_the_partial_files_kills_left(tmp_path,
                                                            resume):
    partials = ['.epoch_2.pth.k1l2m3n4.part', '.iter_7.pth.a8_b9c0d.part']
    kept = ['epoch_1.pth', 'last_checkpoint', 'notes.part']
    for name in partials + kept:
        (tmp_path / name).write_bytes(b'0')
    warnings = []
    runner = _Runner(work_dir=str(tmp_path), train_loop=None, val_loop=None,
                     _resume=resume,
                     message_hub=MessageHub.get_instance(f'part{resume}'),
                     logger=SimpleNamespace(info=print,
                                            warning=warnings.append))
    SafeCheckpointHook(interval=1).before_train(runner)
    if resume:
        assert sorted(os.listdir(tmp_path)) == kept
        assert warnings == [
            'removed 2 partial file(s) that saves cut short by a kill left: '
            + ', '.join(str(tmp_path / name) for name in partials)]
    else:
        assert sorted(os.listdir(tmp_path)) == sorted(partials + kept)
        assert warnings == []


def _preempted_runner(tmp_path, name):
    return _Runner(work_dir=str(tmp_path), present=[], saved=[], iter=6,
                   epoch=1, train_loop=None, val_loop=None,
                   message_hub=MessageHub.get_instance(name),
                   logger=SimpleNamespace(info=print, warning=print))


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_ctrl_c_saves_the_finished_iteration_then_stops(
        tmp_path, signum):
    runner = _preempted_runner(tmp_path, f'stop-on-{signum}')
    hook = SafeCheckpointHook(interval=1)
    hook.before_train(runner)
    hook.after_train_iter(runner, batch_idx=2)
    assert runner.saved == []  # no signal: training goes on
    try:
        os.kill(os.getpid(), signum)  # handled: pytest lives on
    except KeyboardInterrupt:  # not handled: it would end the session
        pytest.fail('SIGINT interrupted the iteration')
    with pytest.raises(SystemExit) as stop:
        hook.after_train_iter(runner, batch_idx=2)
    assert stop.value.code == 128 + signum
    assert runner.saved == [('iter_7.pth', dict(epoch=1, iter=7))]
    assert (tmp_path / 'last_checkpoint').read_text() == str(
        tmp_path / 'iter_7.pth')
    hook.after_train(runner)
    for restored in (signal.SIGTERM, signal.SIGINT):
        assert signal.getsignal(restored) != hook._note_signal


def test_the_launcher_hears_of_the_stop_once_a_node_while_it_is_there(
        tmp_path, monkeypatch):
    record = tmp_path / 'stopped'
    monkeypatch.setenv('MMMASKREUSE_STOP_RECORD', str(record))
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setenv('MMMASKREUSE_LAUNCHER_PID', '1')  # not the parent:
    saving._tell_the_launcher(signal.SIGTERM, 'iter_7.pth')  # it is gone
    assert not record.exists()
    monkeypatch.setenv('MMMASKREUSE_LAUNCHER_PID', str(os.getppid()))
    monkeypatch.setenv('LOCAL_RANK', '1')
    saving._tell_the_launcher(signal.SIGTERM, 'iter_7.pth')
    assert not record.exists()
    monkeypatch.setenv('LOCAL_RANK', '0')
    saving._tell_the_launcher(signal.SIGTERM, 'iter_7.pth')
    assert record.read_text() == '15\niter_7.pth\n'


def test_a_process_forked_after_before_train_still_dies_of_sigterm(
        tmp_path):
    """A pool worker forked from the trainer inherits the handler; a
    SIGTERM (Pool.terminate) must still end it."""
    runner = _preempted_runner(tmp_path, 'sigterm-fork')
    hook = SafeCheckpointHook(interval=1)
    hook.before_train(runner)
    ready, ready_w = os.pipe()
    child = os.fork()
    if child == 0:  # the forked worker: says it runs, then waits
        os.write(ready_w, b'1')
        time.sleep(30)
        os._exit(0)
    # a signal sent before the child's interpreter has finished forking
    # would be dropped by it: wait until it runs
    os.read(ready, 1)
    os.kill(child, signal.SIGTERM)
    _, status = os.waitpid(child, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
    assert hook._stop_signal is None  # the trainer itself was not signalled


def test_a_forked_process_stuck_in_c_code_still_dies_of_sigterm(tmp_path):
    """mmdet's VOC evaluation forks a pool inside training; a worker stuck
    in a C call never runs a Python-level handler, so only SIGTERM's
    default action lets ``Pool.terminate()`` end it (an inherited handler
    hung CI's Faster R-CNN run in the pool's finaliser)."""
    runner = _preempted_runner(tmp_path, 'sigterm-fork-c')
    hook = SafeCheckpointHook(interval=1)
    hook.before_train(runner)
    try:
        ready, ready_w = os.pipe()
        child = os.fork()
        if child == 0:  # relocks a default pthread mutex: blocks in C
            libc = ctypes.CDLL(None)
            mutex = ctypes.create_string_buffer(64)  # zeros: initialised
            libc.pthread_mutex_lock(mutex)
            os.write(ready_w, b'1')
            libc.pthread_mutex_lock(mutex)
            os._exit(0)
        os.read(ready, 1)
        os.kill(child, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done, status = os.waitpid(child, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            raise AssertionError('the forked process outlived SIGTERM')
        assert os.WIFSIGNALED(status)
        assert os.WTERMSIG(status) == signal.SIGTERM
    finally:
        hook.after_train(runner)


def _keeps_serving_worker(ready):
    saving.WorkerKeepsServing()(0)
    ready.set()
    time.sleep(30)


def test_a_loader_worker_outlives_a_foreign_sigterm_not_its_parents():
    """The scheduler's SIGTERM (sent by another process) leaves the worker
    serving; its parent's (multiprocessing's terminate) still ends it."""
    context = multiprocessing.get_context('fork')
    ready = context.Event()
    worker = context.Process(target=_keeps_serving_worker, args=(ready, ))
    worker.start()
    try:
        assert ready.wait(10)
        subprocess.run(['kill', '-TERM', str(worker.pid)], check=True)
        worker.join(1)
        assert worker.is_alive()
        worker.terminate()  # from the parent
        worker.join(10)
        assert worker.exitcode == 0
    finally:
        if worker.is_alive():
            worker.kill()


LOADER = """
import signal, sys, time
from torch.utils.data import DataLoader
from mmmaskreuse.engine.saving import WorkerKeepsServing

class Slow:
    def __len__(self):
        return 8

    def __getitem__(self, i):
        time.sleep(0.2)
        return i

signal.signal(signal.SIGTERM, lambda *args: print('noted', flush=True))
init = WorkerKeepsServing() if sys.argv[1] == 'wrapped' else None
loader = DataLoader(Slow(), num_workers=2, worker_init_fn=init)
got = []
for batch in loader:
    got.append(int(batch))
    if len(got) == 1:
        # set once the workers run: theirs is Python's (as under spawn)
        signal.signal(signal.SIGINT, lambda *args: print('noted', flush=True))
        print('serving', flush=True)
        time.sleep(1)  # the test signals now
print('got', got, flush=True)
"""


@pytest.mark.parametrize('workers', ['wrapped', 'torch'])
def test_a_sigterm_to_the_whole_group_leaves_the_loader_serving(workers):
    """torchrun signals a rank's process group (SIGTERM, or SIGINT on
    Ctrl-C): with the hook's ``worker_init_fn`` the rank still gets every
    batch it asks for; with torch's workers alone the fetch fails."""
    process = subprocess.Popen(
        [sys.executable, '-c', LOADER, workers], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        assert process.stdout.readline() == 'serving\n'
        os.killpg(process.pid, signal.SIGINT)
        os.killpg(process.pid, signal.SIGTERM)
        log = process.communicate(timeout=60)[0]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    if workers == 'wrapped':
        assert process.returncode == 0, log
        assert log.endswith(f'got {list(range(8))}\n'), log
    else:
        assert process.returncode != 0
        # each worker dies of whichever signal it takes first
        assert re.search(r'DataLoader worker \(pid.*\) (is killed by signal'
                         r': Terminated|exited unexpectedly)', log), log


def test_the_hook_gives_loader_workers_its_init_fn(tmp_path):
    runner = _preempted_runner(tmp_path, 'sigterm-loaders')
    seeded = []
    runner.train_loop = SimpleNamespace(dataloader=torch.utils.data.DataLoader(
        range(4), num_workers=2, worker_init_fn=seeded.append))
    runner.val_loop = SimpleNamespace(dataloader=torch.utils.data.DataLoader(
        range(4), num_workers=0))
    hook = SafeCheckpointHook(interval=1)
    hook.before_train(runner)
    hook.before_train(runner)  # once only
    init = runner.train_loop.dataloader.worker_init_fn
    assert isinstance(init, saving.WorkerKeepsServing)
    assert init.worker_init_fn == seeded.append  # the configured one runs
    assert runner.val_loop.dataloader.worker_init_fn is None  # no workers


def test_a_sigterm_on_another_rank_stops_this_one_too(tmp_path, monkeypatch):
    runner = _preempted_runner(tmp_path, 'sigterm-elsewhere')
    hook = SafeCheckpointHook(interval=1)
    hook.before_train(runner)

    def another_rank_was_signalled(tensor, op):
        assert op == 'max'
        tensor.fill_(1)

    monkeypatch.setattr(saving, 'get_world_size', lambda: 2)
    monkeypatch.setattr(saving, 'all_reduce', another_rank_was_signalled)
    with pytest.raises(SystemExit):
        hook.after_train_iter(runner, batch_idx=2)
    assert [name for name, _ in runner.saved] == ['iter_7.pth']


def _checkpoints(tmp_path, *names, truncated=()):
    for i, name in enumerate(names):
        torch.save(dict(state_dict={}), tmp_path / name)
        os.utime(tmp_path / name, (time.time() + i, time.time() + i))
    for name in truncated:
        data = (tmp_path / name).read_bytes()
        (tmp_path / name).write_bytes(data[:len(data) // 2])


def test_resume_follows_last_checkpoint(tmp_path):
    _checkpoints(tmp_path, 'epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    path, why = checkpoint_to_resume(str(tmp_path))
    assert path == str(tmp_path / 'epoch_2.pth')
    assert 'last_checkpoint' in why


@pytest.mark.parametrize('last', ['epoch_3.pth', '', None])
def test_resume_falls_back_to_the_newest_complete_checkpoint(tmp_path, last):
    _checkpoints(tmp_path, 'epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth',
                 truncated=['epoch_3.pth'])
    if last is not None:  # '' : a last_checkpoint cut short by a full disk
        (tmp_path / 'last_checkpoint').write_text(
            str(tmp_path / last) if last else '')
    path, why = checkpoint_to_resume(str(tmp_path))
    assert path == str(tmp_path / 'epoch_2.pth')
    assert f'resuming from the newest complete checkpoint, {path}' in why


def test_resume_refuses_to_restart_beside_unusable_checkpoints(tmp_path):
    _checkpoints(tmp_path, 'epoch_1.pth', truncated=['epoch_1.pth'])
    with pytest.raises(RuntimeError, match='no complete checkpoint .*'
                       'epoch_1.pth'):
        checkpoint_to_resume(str(tmp_path))


def test_resume_in_an_empty_work_dir_starts_from_scratch(tmp_path):
    assert checkpoint_to_resume(str(tmp_path))[0] is None
