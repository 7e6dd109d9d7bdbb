"""The helper every command test runs through: a command that runs past its
time is killed with everything it started, so no stray process keeps a core
or a port for the tests after it."""
import os
import time

import pytest

from tests.conftest import free_port, run_tool


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie awaiting its parent's wait() no longer runs
    with open(f'/proc/{pid}/stat') as f:
        return f.read().split(')')[-1].split()[0] != 'Z'


def test_a_timed_out_command_is_killed_with_its_children(tmp_path):
    script = tmp_path / 'launcher.sh'
    # a launcher whose worker runs on after the launcher's own command
    script.write_text('sleep 300 &\necho $! > worker.pid\nsleep 300\n')
    with pytest.raises(AssertionError, match='ran past 2 s'):
        run_tool([str(script)], tmp_path, timeout=2)
    worker = int((tmp_path / 'worker.pid').read_text())
    deadline = time.time() + 5
    while _alive(worker) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(worker)


def test_free_ports_are_free_and_not_repeated():
    import socket
    ports = {free_port() for _ in range(5)}
    assert len(ports) > 1
    for port in ports:
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', port))


STARTS_AS_SCRIPT = """
import glob, os, runpy, sys
failed = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], '**', '*.py'),
                             recursive=True)):
    sys.argv = [path, '--help']
    try:
        runpy.run_path(path, run_name='__main__')
        failed.append(f'{path}: no SystemExit on --help')
    except SystemExit as stop:
        if stop.code not in (0, None):
            failed.append(f'{path}: exit {stop.code}')
    except BaseException as error:
        failed.append(f'{path}: {type(error).__name__}: {error}')
print('FAILED' if failed else 'ALL STARTED', *failed, sep='\\n')
"""


def test_every_tool_starts_as_a_script(tmp_path):
    """Tests run most tools in-process (run_tool_here); here each one runs
    as ``python tools/...py --help`` would, from a folder outside the
    repository (so nothing is imported from the checkout by accident): its
    imports resolve and its ``__main__`` block parses its flags. One
    interpreter for all of them."""
    import glob
    import subprocess
    import sys

    from tests.conftest import REPO
    tools = os.path.join(REPO, 'tools')
    proc = subprocess.run([sys.executable, '-c', STARTS_AS_SCRIPT, tools],
                          cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.stdout.strip().endswith('ALL STARTED'), (
        proc.stdout[-3000:] + proc.stderr[-3000:])
    assert len(glob.glob(os.path.join(tools, '**', '*.py'),
                         recursive=True)) >= 15
    assert 'usage: grad_cam.py' in proc.stdout


def test_a_tool_run_here_leaves_the_default_scope_and_logger_as_they_were(
        toy_root, tmp_path):
    """An in-process train.py run builds a Runner (its logger, default
    scope, message hub, visualizer) and traps SIGTERM and SIGINT; none of
    it is left for the tests after it."""
    import signal

    from mmengine.logging import MMLogger
    from mmengine.registry import DefaultScope

    from tests.conftest import config, run_tool_here
    scope = DefaultScope.get_current_instance()
    logger = MMLogger.get_current_instance()
    sigterm = signal.getsignal(signal.SIGTERM)
    sigint = signal.getsignal(signal.SIGINT)
    cwd, environ = os.getcwd(), dict(os.environ)
    proc = run_tool_here([
        'train.py', config('baselines/toy/resnet18_toy_cls.py'),
        '--work-dir', str(tmp_path), '--cfg-options',
        'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=8',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'train_cfg.val_begin=9'
    ], toy_root, check=True)
    assert 'Epoch(train) [1][1/1]' in proc.stdout  # the Runner's log
    assert DefaultScope.get_current_instance() is scope
    assert MMLogger.get_current_instance() is logger
    assert signal.getsignal(signal.SIGTERM) is sigterm
    assert signal.getsignal(signal.SIGINT) is sigint
    assert (os.getcwd(), dict(os.environ)) == (cwd, environ)
