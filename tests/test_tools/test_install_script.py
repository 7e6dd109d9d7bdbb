"""tools/misc/install.sh, run for real against a stand-in virtualenv: its
``pip`` records each call (one a line) and "builds" a small valid wheel, its
``python`` answers the import check and runs the rest on this interpreter.
Paths with a space stay one word, a truncated cached wheel is built again
rather than installed, and installs sharing the wheel cache take turns."""
import functools
import io
import os
import shlex
import subprocess
import sys
import time
import zipfile
from types import SimpleNamespace

import pytest

from tests.conftest import REPO

INSTALL = os.path.join(REPO, 'tools', 'misc', 'install.sh')
PYTAG = f'cp{sys.version_info[0]}{sys.version_info[1]}'
PYTHON = f'python{sys.version_info[0]}.{sys.version_info[1]}'
WHEEL_NAME = f'mmcv-2.1.0-{PYTAG}-{PYTAG}-linux_x86_64.whl'
WAITING = 'waiting for another install using the wheel cache'


@functools.lru_cache()
def wheels_folder():
    """The cache's wheel folder, named as the script names it."""
    import torch
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    return f'{PYTAG}-torch2.13.0-mmcv2.1.0-{device}'


def valid_wheel():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as zf:
        zf.writestr('mmcv/__init__.py', "__version__ = '2.1.0'\n" * 200)
        zf.writestr('mmcv-2.1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\n')
    return buf.getvalue()


def write_executable(path, text):
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture
def venv(tmp_path):
    """A stand-in virtualenv under a path with a space, a wheel cache under
    another one, and helpers to run the script and read pip's calls."""
    q = shlex.quote
    root = tmp_path / 'a venv'
    (root / 'bin').mkdir(parents=True)
    log = tmp_path / 'pip.log'
    valid = tmp_path / 'valid.whl'
    valid.write_bytes(valid_wheel())
    # each call: $0 and the arguments, tab-separated, on one line
    write_executable(root / 'bin' / 'pip', f'''#!/bin/bash
line=$(printf '%s\\t' "$0" "$@")
echo "$line" >> {q(str(log))}
out=
while [ $# -gt 0 ]; do
    if [ "$1" = -w ]; then out=$2; fi
    shift
done
if [ -n "$out" ]; then
    mkdir -p "$out" && cp {q(str(valid))} "$out/{WHEEL_NAME}"
fi
''')
    checks = tmp_path / 'import_checks.log'
    write_executable(root / 'bin' / 'python', f'''#!/bin/bash
if [ "$1" = - ]; then
    cat > /dev/null
    echo checked >> {q(str(checks))}
    echo 'mmmaskreuse (stand-in) ready'
    exit 0
fi
exec {q(sys.executable)} "$@"
''')
    site = root / 'lib' / PYTHON / 'site-packages'
    (site / 'torch-2.13.0.dist-info').mkdir(parents=True)
    cache = tmp_path / 'wheel cache'
    env = dict(os.environ, VENV=str(root), MMMASKREUSE_CACHE=str(cache))

    def run():
        return subprocess.run(['bash', INSTALL], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=60)

    def calls():
        if not log.exists():
            return []
        return [line.split('\t')[:-1] for line in log.read_text().splitlines()]

    def import_checks():
        return len(checks.read_text().split()) if checks.exists() else 0

    return SimpleNamespace(
        root=root, pip=str(root / 'bin' / 'pip'), cache=cache, log=log,
        site=site, import_checks=import_checks,
        wheels=cache / 'wheels' / wheels_folder(), valid=valid.read_bytes(),
        env=env, run=run, calls=calls)


def cache_calls(calls):
    """The calls that build or install the cached mmcv wheel."""
    return [c for c in calls
            if c[2:3] == ['wheel'] or c[-1].endswith('.whl')]


def test_install_keeps_paths_with_a_space_intact(venv):
    proc = venv.run()
    assert proc.returncode == 0, proc.stdout
    calls = venv.calls()
    # every call reached pip whole, with the option meant for it
    assert [c[:2] for c in calls] == [
        [venv.pip, '--disable-pip-version-check']] * len(calls)
    partial = f'{venv.wheels}.partial'
    wheel = venv.wheels / WHEEL_NAME
    assert cache_calls(calls) == [
        [venv.pip, '--disable-pip-version-check', 'wheel', '-q',
         '--no-build-isolation', '--no-deps', 'mmcv==2.1.0', '-w', partial],
        [venv.pip, '--disable-pip-version-check', 'install', '-q',
         '--no-deps', str(wheel)]]
    # torch, setuptools, mmcv, the stack, grad-cam (--no-deps), its
    # requirements, openmim (--no-deps), what mim imports, the package
    assert [c[2] for c in calls].count('install') == 9
    assert [venv.pip, '--disable-pip-version-check', 'install', '-q',
            '--no-deps', 'grad-cam==1.5.7', 'ttach==0.0.3'] in calls
    assert [venv.pip, '--disable-pip-version-check', 'install', '-q',
            '--no-deps', 'openmim==0.3.9'] in calls
    assert calls[-1][2:] == ['install', '-q', '--no-deps', '-e', '.']
    assert wheel.read_bytes() == venv.valid
    assert not os.path.exists(partial)
    assert (venv.root / '.mmmaskreuse-stack').read_text().startswith(
        'torch===2.13.0 ')
    assert 'mmmaskreuse (stand-in) ready' in proc.stdout
    assert WAITING not in proc.stdout


def test_install_rebuilds_a_truncated_cached_wheel(venv):
    wheel = venv.wheels / WHEEL_NAME
    venv.wheels.mkdir(parents=True)
    wheel.write_bytes(venv.valid[:len(venv.valid) // 2])
    # what an interrupted build left: never to be moved into the cache
    stale = venv.wheels.parent / f'{venv.wheels.name}.partial'
    stale.mkdir()
    (stale / 'mmcv-2.1.0-stale-none-any.whl').write_bytes(b'half a build')
    proc = venv.run()
    assert proc.returncode == 0, proc.stdout
    assert f'cached wheel {wheel} is incomplete or corrupt' in proc.stdout
    assert [c[2] for c in cache_calls(venv.calls())] == ['wheel', 'install']
    assert cache_calls(venv.calls())[-1][-1] == str(wheel)
    assert os.listdir(venv.wheels) == [WHEEL_NAME]
    assert wheel.read_bytes() == venv.valid
    assert not stale.exists()


def test_install_waits_for_the_wheel_cache_lock(venv, tmp_path):
    """Another install holds the cache's lock and caches a valid wheel:
    this one says it waits, builds and installs nothing from the cache
    until the lock is free, then installs that wheel without building it
    again."""
    q = shlex.quote
    venv.cache.mkdir()
    lock = venv.cache / '.lock'
    held, go = tmp_path / 'held', tmp_path / 'go'
    wheel = venv.wheels / WHEEL_NAME
    venv.wheels.mkdir(parents=True)
    done = tmp_path / 'built.whl'
    done.write_bytes(venv.valid)
    # holds the lock until the test says go (30 s at most), then caches
    # the wheel it "built", logs 'released' and lets go
    holder = subprocess.Popen(
        ['flock', str(lock), 'bash', '-c',
         f'touch {q(str(held))}; for i in $(seq 300); do '
         f'[ -e {q(str(go))} ] && break; sleep 0.1; done; '
         f'cp {q(str(done))} {q(str(wheel))}; '
         f"printf 'released\\t\\n' >> {q(str(venv.log))}"],
        start_new_session=True)
    script = None
    try:
        deadline = time.time() + 30
        while not held.exists():
            assert time.time() < deadline and holder.poll() is None
            time.sleep(0.05)
        script = subprocess.Popen(
            ['bash', INSTALL], cwd=tmp_path, env=venv.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        out = []
        for line in script.stdout:
            out.append(line)
            if line.startswith(WAITING):
                break
        assert out and out[-1].startswith(WAITING), ''.join(out)
        assert f'(lock {lock})' in out[-1]
        time.sleep(1)
        # still waiting, nothing built or installed from the cache yet
        assert script.poll() is None, ''.join(out) + script.stdout.read()
        assert cache_calls(venv.calls()) == []
        go.touch()
        rest, _ = script.communicate(timeout=30)
    finally:
        for process in (holder, script):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, 9)
                process.wait()
    assert script.returncode == 0, ''.join(out) + rest
    assert 'building mmcv' not in rest
    assert 'incomplete or corrupt' not in rest
    calls = venv.calls()
    # the wheel the other install cached, installed once it let go
    install = [venv.pip, '--disable-pip-version-check', 'install', '-q',
               '--no-deps', str(wheel)]
    assert cache_calls(calls) == [install]
    assert calls.index(install) > calls.index(['released'])
    assert os.listdir(venv.wheels) == [WHEEL_NAME]
    assert wheel.read_bytes() == venv.valid


def test_a_second_install_checks_imports_only_when_packages_changed(venv):
    """The stamp and the same installed packages as at the last passing
    import check: nothing runs. A package installed, upgraded or removed
    since: the import check runs again (and pip does not)."""
    assert venv.run().returncode == 0
    installs = len(venv.calls())
    assert venv.import_checks() == 1

    again = venv.run()
    assert again.returncode == 0, again.stdout
    assert 'is set up (no package changed since its import check)' in \
        again.stdout
    assert venv.import_checks() == 1
    assert len(venv.calls()) == installs

    (venv.site / 'numpy-2.0.0.dist-info').mkdir()  # a package added
    changed = venv.run()
    assert changed.returncode == 0, changed.stdout
    assert 'is set up' not in changed.stdout
    assert venv.import_checks() == 2
    assert len(venv.calls()) == installs
    assert 'is set up' in venv.run().stdout  # checked: quick again
    assert venv.import_checks() == 2

    (venv.site / 'numpy-2.0.0.dist-info').rmdir()  # and removed
    assert 'is set up' not in venv.run().stdout
    assert venv.import_checks() == 3
    assert len(venv.calls()) == installs
