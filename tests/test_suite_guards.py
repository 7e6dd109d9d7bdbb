"""The suite's own guards (tests/conftest.py): the fast tier's time limit
and the free-disk check ``make test`` starts with, each run in a pytest
of its own on a throwaway test file."""
import os
import subprocess
import sys

from .conftest import REPO

SLOW_BODY = '''
import time


def test_sleeps():
    time.sleep(1.5)


def test_is_quick():
    pass
'''


def run_pytest(tmp_path, *args, env=None):
    """pytest on a one-file folder, with the repo's conftest as a plugin."""
    (tmp_path / 'test_probe.py').write_text(SLOW_BODY)
    return subprocess.run(
        [sys.executable, '-m', 'pytest', '-p', 'tests.conftest', '-q',
         '-p', 'no:cacheprovider', '--rootdir', str(tmp_path),
         '--basetemp', str(tmp_path / 'base'), *args, str(tmp_path)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, 'PYTHONPATH': REPO, **(env or {})}, timeout=120)


def test_a_fast_tier_test_over_the_limit_fails_and_says_why(tmp_path):
    proc = run_pytest(tmp_path,
                      env={'MMMASKREUSE_FAST_TEST_LIMIT': '1'})
    assert proc.returncode == 1, proc.stdout
    assert '1 failed, 1 passed' in proc.stdout, proc.stdout
    assert "test_sleeps: its call took 2 s, over the fast tier's limit of " \
        '1 s' in proc.stdout, proc.stdout

    proc = run_pytest(tmp_path,
                      env={'MMMASKREUSE_FAST_TEST_LIMIT': '10'})
    assert proc.returncode == 0, proc.stdout


def test_too_little_free_disk_stops_before_any_test(tmp_path):
    proc = run_pytest(tmp_path, '--min-free-gb', '1e9')
    assert proc.returncode == 4, proc.stdout
    assert f'GiB free under {tmp_path}, where this run writes its ' \
        'checkpoints and work dirs; it asks for 1e+09 GiB' in proc.stdout, \
        proc.stdout
    assert 'passed' not in proc.stdout, proc.stdout

    proc = run_pytest(tmp_path, '--min-free-gb', '0.001',
                      env={'MMMASKREUSE_FAST_TEST_LIMIT': '10'})
    assert proc.returncode == 0, proc.stdout
