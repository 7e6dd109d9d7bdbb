"""The launch scripts pass what they are given through unchanged, hand
signals to the launcher they start, and name a busy port; checked with a
stand-in interpreter and ``srun`` that record what they receive. A SIGTERM
to a real two-process ``dist_train.sh`` run saves, exits 143 and leaves
nothing behind, and its ``--resume`` ends where an uninterrupted run ends;
a ``kill -9`` of its launcher leaves no rank training."""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import torch

from tests.conftest import (REPO, assert_same_weights, config, free_port,
                            run_tool)

CLS = config('baselines/toy/resnet18_toy_cls.py')
# --cfg-options with brackets (a glob pattern to an unquoting shell) and a
# work dir with a space
ARGS = ['--cfg-options', 'model.head.topk=[1,2]', '--work-dir',
        'work dirs/a b']


def stand_in(tmp_path, name, body):
    """An executable ``name`` in ``tmp_path/bin`` that records its pid,
    arguments (one per line) and PYTHONPATH, then runs ``body``."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / name
    script.write_text(f'''#!/bin/bash
if [ "$1" = "-c" ]; then exec {sys.executable} "$@"; fi
echo $$ > {tmp_path}/pid
printf "%s\\n" "$@" > {tmp_path}/args
printf "%s" "${{PYTHONPATH-unset}}" > {tmp_path}/pythonpath
{body}
''')
    script.chmod(0o755)
    return script


def run_script(script, args, tmp_path, env):
    # a bracket pattern that would match a file, were it glob-expanded
    (tmp_path / 'model.head.topk=1').touch()
    return subprocess.run(['bash', os.path.join(REPO, 'tools', script),
                           *args], cwd=tmp_path, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=60)


def test_slurm_train_passes_arguments_intact(tmp_path):
    stand_in(tmp_path, 'srun', 'exit 0')
    env = dict(os.environ, PATH=f'{tmp_path}/bin:{os.environ["PATH"]}',
               SRUN_ARGS='--qos=low --time=1:00:00')
    env.pop('PYTHONPATH', None)
    proc = run_script('slurm_train.sh', ['part', 'job', CLS, 'work_dirs/x',
                                         *ARGS], tmp_path, env)
    assert proc.returncode == 0, proc.stdout
    args = (tmp_path / 'args').read_text().splitlines()
    assert args[-len(ARGS):] == ARGS
    assert args[args.index('--kill-on-bad-exit=1') + 1:][:2] == [
        '--qos=low', '--time=1:00:00']
    # no empty entry: it would put the working directory on sys.path
    assert (tmp_path / 'pythonpath').read_text() == os.path.join(
        REPO, 'tools', '..')


def test_dist_train_execs_torchrun_with_a_free_port(tmp_path):
    python = stand_in(tmp_path, 'python', 'sleep 300')
    env = dict(os.environ, PYTHON=str(python), PYTHONPATH='')
    env.pop('PORT', None)
    process = subprocess.Popen(
        ['bash', os.path.join(REPO, 'tools', 'dist_train.sh'), CLS, '2',
         *ARGS], cwd=tmp_path, env=env, start_new_session=True)
    try:
        deadline = time.time() + 30
        while not (tmp_path / 'args').exists():
            assert time.time() < deadline and process.poll() is None
            time.sleep(0.1)
        time.sleep(0.2)
        # exec: the launcher runs in the script's own process, so a signal
        # to the script (a scheduler's, Ctrl-C) reaches torchrun itself
        assert int((tmp_path / 'pid').read_text()) == process.pid
    finally:
        os.killpg(process.pid, 9)
        process.wait()
    args = (tmp_path / 'args').read_text().splitlines()
    # torchrun, in the process of resumable_torchrun.py
    assert args[0] == os.path.join(REPO, 'tools', 'misc',
                                   'resumable_torchrun.py')
    assert args[-len(ARGS):] == ARGS
    assert any(a.startswith('--master_port=') and a.split('=')[1].isdigit()
               for a in args)
    assert (tmp_path / 'pythonpath').read_text() == os.path.join(
        REPO, 'tools', '..')


def test_dist_train_names_a_busy_port(tmp_path):
    with socket.socket() as busy:
        busy.bind(('', 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = dict(os.environ, PORT=str(port))
        proc = run_script('dist_train.sh', [CLS, '2'], tmp_path, env)
    assert proc.returncode == 2
    assert f'port {port} is in use; set PORT to a free port' in proc.stdout


def _descendants(pid):
    """Every process below ``pid`` (torchrun's ranks and their loader
    workers, which run in sessions of their own)."""
    children = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as f:
                    ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        below = children.get(todo.pop(), [])
        found.update(below)
        todo += below
    return found


def _alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


# the MaskAnyNet demo on 2 processes: each rank's masks (every sample
# masked: a rank resumed with other masks shows at its first batch), random
# flips in 2 persistent loader workers a rank; 2 epochs of 4 iterations of
# 2 images a rank, a checkpoint at the end, no validation
DEMO = config('maskanynet/toy/resnet18_toy_cls.py')
TINY_DIST = ['--cfg-options', 'train_dataloader.dataset.indices=16',
             'train_dataloader.batch_size=2', 'train_cfg.max_epochs=2',
             'train_cfg.val_begin=100', 'default_hooks.logger.interval=1',
             'data_preprocessor.prob=1.0']
# the toy classifier for longer than a test waits
LONG = ['--cfg-options', 'train_cfg.max_epochs=50',
        'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1']


@pytest.fixture(scope='module')
def uninterrupted_dist(toy_root):
    """The work dir of the TINY_DIST run on 2 processes, not interrupted."""
    work_dir = toy_root / 'work_dirs' / 'uninterrupted_dist'
    run_tool(['dist_train.sh', DEMO, '2', '--work-dir', str(work_dir),
              *TINY_DIST], toy_root, env=dict(PORT=str(free_port())))
    return work_dir


def _train_with_dist_train_sh(toy_root, tmp_path, port, config=CLS,
                              options=LONG):
    """``dist_train.sh CONFIG 2 ... OPTIONS`` (2 loader workers a rank)
    into ``tmp_path / 'work'``: the script's process, the lines it printed,
    the thread that reads the rest into them, and every process below it
    once training runs."""
    env = dict(os.environ, PORT=str(port), PYTHON=sys.executable,
               TMPDIR=str(tmp_path))  # where the launcher's record goes
    process = subprocess.Popen(
        ['bash', os.path.join(REPO, 'tools', 'dist_train.sh'), config, '2',
         '--work-dir', str(tmp_path / 'work'), *options],
        cwd=toy_root, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    log = []
    for line in process.stdout:
        log.append(line)
        if 'Epoch(train)' in line:  # training: iterations are running
            break
    everything = _descendants(process.pid)
    reader = threading.Thread(target=lambda: log.extend(process.stdout),
                              daemon=True)
    reader.start()
    return process, log, everything, reader


def _end_all(process, pids):
    """Kill what a failed test left running (a pid of this repository's
    tools: not one that another process took since)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for pid in pids:
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                ours = os.path.join(REPO, 'tools').encode() in f.read()
        except OSError:
            continue
        if ours and _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _assert_port_free(port):
    with socket.socket() as sock:
        # the dead launcher's connections may linger in TIME_WAIT, which
        # SO_REUSEADDR (torch's store sets it too) passes; a listener not
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(('127.0.0.1', port))
        sock.listen()


def test_sigterm_to_dist_train_sh_saves_and_leaves_nothing_behind(
        toy_root, tmp_path, uninterrupted_dist):
    """A scheduler's SIGTERM to ``dist_train.sh`` (2 processes, 2 loader
    workers each) while it trains: both ranks stop after the same iteration,
    which is saved; the script exits 143 and says how to resume; no process
    outlives the launch and its port is free. ``dist_train.sh --resume``
    then ends with the weights of the run that was never interrupted, bit
    for bit: each rank drew the same masks and augmentations."""
    port = free_port()
    process, log, everything, reader = _train_with_dist_train_sh(
        toy_root, tmp_path, port, DEMO, TINY_DIST)
    work_dir = tmp_path / 'work'
    try:
        assert 'Epoch(train)' in log[-1], ''.join(log)[-3000:]
        assert len(everything) >= 2 * 3, everything  # 2 ranks + workers
        process.send_signal(signal.SIGTERM)
        signalled = time.time()
        process.wait(timeout=60)
        # the ranks exit on their own, long before torchrun's SIGKILL (30 s)
        assert time.time() - signalled < 25
    finally:
        _end_all(process, everything)
    deadline = time.time() + 10
    while any(_alive(pid) for pid in everything) and time.time() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in everything if _alive(pid)]
    reader.join(10)
    log = ''.join(log)
    assert process.returncode == 143, log[-3000:]
    stops = re.findall(r'SIGTERM: stopped after iteration (\d+) and saved '
                       r'(\S+);', log)
    assert len(stops) == 1, log[-3000:]  # rank 0 logs
    step, saved = stops[0]
    assert saved == str(work_dir / f'iter_{step}.pth')
    assert (f'the ranks stopped on SIGTERM after saving {saved}: run the '
            'same command with --resume to continue from it') in log
    assert torch.load(saved, map_location='cpu',
                      weights_only=False)['meta']['iter'] == int(step)
    assert (work_dir / 'last_checkpoint').read_text() == saved
    assert not list(tmp_path.glob('mmmaskreuse-stopped-*'))
    _assert_port_free(port)

    assert int(step) < 8, 'the run ended before the SIGTERM came'
    proc = run_tool(['dist_train.sh', DEMO, '2', '--work-dir', str(work_dir),
                     '--resume', *TINY_DIST], toy_root,
                    env=dict(PORT=str(free_port())))
    assert f'resuming from {saved} (last_checkpoint)' in proc.stdout
    assert_same_weights(work_dir / 'epoch_2.pth',
                        uninterrupted_dist / 'epoch_2.pth')


def test_a_killed_launcher_leaves_no_rank_training(toy_root, tmp_path):
    """``kill -9`` of ``dist_train.sh``'s launcher (torchrun, which runs in
    the script's process) while its 2 ranks train: torchrun started each
    rank in a session of its own, out of reach of the kill, yet within
    seconds no rank or loader worker is alive and the port is free. The
    ranks end as after a SIGTERM: they save first."""
    port = free_port()
    process, log, everything, reader = _train_with_dist_train_sh(
        toy_root, tmp_path, port)
    try:
        assert 'Epoch(train)' in log[-1], ''.join(log)[-3000:]
        assert len(everything) >= 2 * 3, everything  # 2 ranks + workers
        os.killpg(process.pid, signal.SIGKILL)  # the launcher's group
        process.wait()
        killed = time.time()
        while (any(_alive(pid) for pid in everything)
               and time.time() - killed < 20):
            time.sleep(0.2)
        left = [pid for pid in everything if _alive(pid)]
        assert not left, f'alive {time.time() - killed:.0f} s after: {left}'
    finally:
        _end_all(process, everything)
    _assert_port_free(port)
    reader.join(10)
    assert re.search(r'SIGTERM: stopped after iteration \d+ and saved ',
                     ''.join(log)), ''.join(log)[-3000:]
    # nobody is left to read what the ranks would tell the launcher
    assert not list(tmp_path.glob('mmmaskreuse-stopped-*'))
