import os
import os.path as osp
import re
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session')
def toy_root(tmp_path_factory):
    """A working folder holding ``data/toy``, as the toy configs expect."""
    from mmmaskreuse.datasets import make_toy_data
    root = tmp_path_factory.mktemp('toy_workdir')
    make_toy_data(str(root / 'data' / 'toy'))
    return root


def run_tool(args, cwd, timeout=900, env=None, check=True):
    """Run ``python tools/<args>`` (or a shell script) as a user would."""
    full_env = dict(os.environ, PYTHON=sys.executable, **(env or {}))
    if args[0].endswith('.sh'):
        cmd = ['bash', osp.join(REPO, 'tools', args[0]), *args[1:]]
    else:
        cmd = [sys.executable, osp.join(REPO, 'tools', args[0]), *args[1:]]
    proc = subprocess.run(
        cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-6000:]}')
    return proc


def config(name):
    return osp.join(REPO, 'configs', name)


def last_metric(log, key):
    """The last value ``key: value`` printed in a log."""
    values = re.findall(re.escape(key) + r': (-?[0-9.]+)', log)
    assert values, f'{key} not in the output:\n{log[-3000:]}'
    return float(values[-1])
