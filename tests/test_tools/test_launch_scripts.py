"""The launch scripts pass what they are given through unchanged, hand
signals to the launcher they start, and name a busy port; checked with a
stand-in interpreter and ``srun`` that record what they receive."""
import os
import socket
import subprocess
import sys
import time

from tests.conftest import REPO, config

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
    assert args[:2] == ['-m', 'torch.distributed.run']
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
