"""Shared helpers and fixtures, and the fast tier's time guard.

Two tiers (README, "Tests"): ``make test`` runs every test not marked
``slow`` (unit tests, and every command end to end at its smallest size);
``make test-slow`` runs the ``@pytest.mark.slow`` checks that a model
learns. A fast-tier test whose setup or body runs longer than
``MMMASKREUSE_FAST_TEST_LIMIT`` seconds (default 60) fails, so the fast
tier keeps its budget as features are added. ``--min-free-gb N`` (which
``make test`` passes) refuses to start a session with less than N GiB free
where pytest keeps its temporary folders: the tier writes gigabytes of toy
checkpoints, and a disk that fills midway fails unrelated tests with
errors that do not say why.
"""
import copy
import functools
import http.server
import io
import os
import os.path as osp
import re
import resource
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from functools import partial
from types import SimpleNamespace

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
FAST_TEST_LIMIT = float(os.environ.get('MMMASKREUSE_FAST_TEST_LIMIT', 60))


def pytest_addoption(parser):
    parser.addoption(
        '--min-free-gb', type=float, default=0.0, metavar='N',
        help='refuse to start with less than N GiB free in the folder '
        'that holds pytest\'s temporary folders (default 0: no check)')


def pytest_sessionstart(session):
    need = session.config.getoption('min_free_gb')
    where = session.config.option.basetemp or tempfile.gettempdir()
    while not osp.isdir(where):  # a --basetemp pytest has yet to make
        where = osp.dirname(osp.abspath(where))
    free = shutil.disk_usage(where).free / 2**30
    if free < need:
        pytest.exit(
            f'only {free:.1f} GiB free under {where}, where this run writes '
            f'its checkpoints and work dirs; it asks for {need:g} GiB '
            '(--min-free-gb). Free space, or point --basetemp (or TMPDIR) at '
            'a larger disk.', returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if (report.when in ('setup', 'call') and report.passed
            and item.get_closest_marker('slow') is None
            and report.duration > FAST_TEST_LIMIT):
        report.outcome = 'failed'
        report.longrepr = (
            f'{item.nodeid}: its {report.when} took {report.duration:.0f} s, '
            f'over the fast tier\'s limit of {FAST_TEST_LIMIT:.0f} s '
            '(MMMASKREUSE_FAST_TEST_LIMIT). Shrink it (fewer iterations, '
            'smaller images, num_workers=0, a shared session fixture) or, '
            'if it checks that a model learns, mark it @pytest.mark.slow.')


@pytest.fixture(autouse=True)
def restore_environment():
    """Code under test may write os.environ itself (the launch helpers set
    RANK, MASTER_ADDR ...), which monkeypatch does not undo: put it back,
    or a later test's command would inherit them (a torchrun started with
    a test's MASTER_ADDR waits for that host)."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def tiny_efficientnet_v2(monkeypatch):
    """``'tiny'``, an ``arch`` of mmpretrain's EfficientNetV2 (and so of
    MaskEfficientNetV2) for this test: a block of each kind (conv with skip,
    fused MBConv, MBConv with SE), 8 to 64 channels. Its archs are names
    only, and B0, the smallest, takes seconds a test on the CPU."""
    from mmpretrain.models.backbones import EfficientNetV2
    monkeypatch.setitem(EfficientNetV2.arch_settings, 'tiny', [
        [1, 3, 1, 1, 8, 8, 0.0, -1], [1, 3, 2, 2, 8, 16, 0.0, 0],
        [1, 3, 2, 2, 16, 32, 0.25, 1], [1, 1, 1, 1, 32, 64, 0.0, -2]])
    return 'tiny'


@pytest.fixture(scope='session')
def toy_root(tmp_path_factory):
    """A working folder holding ``data/toy``, as the toy configs expect."""
    from mmmaskreuse.datasets import make_toy_data
    root = tmp_path_factory.mktemp('toy_workdir')
    make_toy_data(str(root / 'data' / 'toy'))
    return root


# ``make demo`` shortened to the path it runs: 2 iterations of 32 images,
# validated after training, no loader processes
DEMO_SHORT = ('train_cfg.max_epochs=1 train_cfg.val_interval=1 '
              'train_dataloader.dataset.indices=64 '
              'train_dataloader.num_workers=0 '
              'train_dataloader.persistent_workers=False')


def run_make(cwd, target, *variables, timeout=1800):
    """``make TARGET VAR=VALUE ...`` with the repo's Makefile, run in
    ``cwd`` as from a user's folder; the finished process, output merged."""
    return subprocess.run(
        ['make', '-f', osp.join(REPO, 'Makefile'), target, *variables],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=timeout)


def run_make_demo(cwd, cfg_options='', demo_dir='work_dirs/demo'):
    """Run ``make demo`` in ``cwd`` as the README says; returns its log, the
    top-1 it printed, its work dir and the checkpoint test.py scored."""
    proc = run_make(cwd, 'demo', f'DEMO_CFG_OPTIONS={cfg_options}',
                    f'DEMO_DIR={demo_dir}')
    assert proc.returncode == 0, proc.stdout[-5000:]
    result = re.search(r'demo result .*: accuracy/top1: ([0-9.]+)',
                       proc.stdout)
    assert result, proc.stdout[-3000:]
    work_dir = osp.join(cwd, demo_dir)
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    return SimpleNamespace(log=proc.stdout, top1=float(result.group(1)),
                           work_dir=work_dir, checkpoint=checkpoint)


@pytest.fixture(scope='session')
def trained_classifier(toy_root):
    """A MaskAnyNet toy classifier from a shortened ``make demo``: shared
    by every test that needs *a* trained checkpoint and its work dir."""
    return run_make_demo(toy_root, DEMO_SHORT, 'work_dirs/demo_short')


def predict_in_process(config_path, checkpoint, img_path):
    """The data sample a config's model, with ``checkpoint``'s weights,
    predicts for one image through the config's test pipeline (without
    its annotation loading, as mmdet's and mmseg's inference APIs do)."""
    import torch
    from mmengine.dataset import Compose, pseudo_collate
    from mmengine.registry import DefaultScope
    from mmengine.runner import load_checkpoint

    from mmmaskreuse.engine import build_model, load_config
    cfg = load_config(config_path)
    model = build_model(cfg).eval()
    load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        pipeline = Compose([
            step for step in cfg.test_dataloader.dataset.pipeline
            if 'LoadAnnotations' not in step['type']
        ])
        data = pseudo_collate([pipeline(dict(img_path=img_path, img_id=0))])
    with torch.no_grad():
        return model.test_step(data)[0]


@contextmanager
def serve_over_http(folder):
    """The files of ``folder`` at ``http://127.0.0.1:PORT/`` (yielded), as a
    model zoo serves checkpoints."""
    handler = partial(http.server.SimpleHTTPRequestHandler,
                      directory=str(folder))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_address[1]}'
    finally:
        server.shutdown()
        server.server_close()


def free_port():
    """A TCP port no process listens on now: each distributed launch gets
    its own, so a test never waits on a port another one still holds."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run_tool(args, cwd, timeout=900, env=None, check=True,
             file_size_limit=None):
    """Run ``python tools/<args>`` (or a shell script) as a user would.

    The command runs in a process group of its own, killed whole on a
    timeout. That group does not hold torchrun's ranks (torchrun starts
    each in a session of its own, which no group kill reaches): they end
    with their launcher (``train.py`` under ``--launcher pytorch``), so no
    process outlives its test holding a port or a core.
    ``file_size_limit`` (bytes) is ``ulimit -f`` for the command: a larger
    write fails as on a full disk.
    """

    def limit_files():
        resource.setrlimit(resource.RLIMIT_FSIZE,
                           (file_size_limit, file_size_limit))

    full_env = dict(os.environ, PYTHON=sys.executable, **(env or {}))
    if args[0].endswith('.sh'):
        cmd = ['bash', osp.join(REPO, 'tools', args[0]), *args[1:]]
    else:
        cmd = [sys.executable, osp.join(REPO, 'tools', args[0]), *args[1:]]
    with subprocess.Popen(
            cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
            preexec_fn=limit_files if file_size_limit else None) as process:
        try:
            stdout, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, _ = process.communicate()
            raise AssertionError(f'{" ".join(cmd)} ran past {timeout} s:\n'
                                 f'{stdout[-6000:]}')
        finally:
            if process.poll() is None:  # an error in the test itself
                os.killpg(process.pid, signal.SIGKILL)
    proc = subprocess.CompletedProcess(cmd, process.returncode, stdout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-6000:]}')
    return proc


def _manager_classes():
    """mmengine's ManagerMixin classes (loggers, scopes, message hubs,
    visualizers...): each keeps its instances in a class-level dict."""
    from mmengine.utils import ManagerMixin
    found, stack = [], [ManagerMixin]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                stack.append(sub)
    return found


@contextmanager
def _tool_state_restored():
    """A tool run in this process starts as in a new one and leaves
    nothing behind: no mmengine instance (logger, default scope, message
    hub, visualizer) is current while it runs, and afterwards the ones it
    made are dropped (their log files closed) and the earlier ones are
    back; so are the environment, the working directory, argv and the
    SIGTERM and SIGINT handlers (a run stopped on its way takes them over
    for good)."""
    argv, env, here = list(sys.argv), dict(os.environ), os.getcwd()
    handlers = {signum: signal.getsignal(signum)
                for signum in (signal.SIGTERM, signal.SIGINT)}
    managers = {cls: dict(cls._instance_dict) for cls in _manager_classes()}
    for cls in managers:
        cls._instance_dict.clear()
    try:
        yield
    finally:
        for cls in _manager_classes():
            for instance in cls._instance_dict.values():
                for handler in list(getattr(instance, 'handlers', [])):
                    handler.close()
                    instance.removeHandler(handler)
            cls._instance_dict.clear()
            cls._instance_dict.update(managers.get(cls, {}))
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        sys.argv = argv
        os.chdir(here)
        os.environ.clear()
        os.environ.update(env)


def run_tool_here(args, cwd, check=False, env=None):
    """Run ``tools/<args>`` inside this process, as ``python tools/<args>``
    would (as ``__main__``, with its argv, in ``cwd``), and return what
    :func:`run_tool` returns (exit status; stdout and stderr together).

    It saves the 8 to 10 s start of a new interpreter with torch and the
    OpenMMLab libraries. The state a run leaves behind is put back
    (:func:`_tool_state_restored`). Runs that need their own process (a
    signal, a file size limit, other environment variables, several
    processes) use :func:`run_tool`; ``env`` adds variables read at run
    time (``TORCH_HOME``). That every tool also starts as a
    script is checked in ``test_tools/test_run_tool.py``.
    """
    path = osp.join(REPO, 'tools', args[0])
    output = io.StringIO()
    with _tool_state_restored():
        sys.argv = [path, *args[1:]]
        os.chdir(cwd)
        os.environ.update(env or {})
        with redirect_stdout(output), redirect_stderr(output):
            try:
                runpy.run_path(path, run_name='__main__')
                code = 0
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else (
                    0 if stop.code is None else 1)
                if not isinstance(stop.code, (int, type(None))):
                    print(stop.code, file=sys.stderr)
            except Exception:  # as the interpreter: traceback, status 1
                traceback.print_exc()
                code = 1
    proc = subprocess.CompletedProcess(['python', *args], code,
                                       output.getvalue())
    if check and code != 0:
        raise AssertionError(f'{" ".join(args)} failed ({code}):\n'
                             f'{proc.stdout[-6000:]}')
    return proc


def config(name):
    return osp.join(REPO, 'configs', name)


@functools.lru_cache(maxsize=None)
def _read_recipe(path):
    from mmmaskreuse.engine import load_config
    return load_config(path)


def read_recipe(name):
    """A shipped config (a path, or a name under ``configs/``) as
    ``load_config`` reads it. Each file is read once a session (reading the
    mmdet and mmseg bases is 0.2 s a config, and the config tests read the
    127 recipes about 300 times); every call gets its own copy to change."""
    return copy.deepcopy(_read_recipe(name if osp.isabs(name) else
                                      config(name)))


def assert_same_weights(path, expected_path):
    """Every tensor of the two checkpoints' models equal, bit for bit."""
    import torch
    final, expected = (torch.load(p, map_location='cpu', weights_only=False)
                       ['state_dict'] for p in (path, expected_path))
    assert final.keys() == expected.keys()
    differ = [key for key in expected
              if not torch.equal(final[key], expected[key])]
    assert not differ, f'{len(differ)} of {len(expected)} differ: {differ}'


def last_metric(log, key):
    """The last value ``key: value`` printed in a log."""
    values = re.findall(re.escape(key) + r': (-?[0-9.]+)', log)
    assert values, f'{key} not in the output:\n{log[-3000:]}'
    return float(values[-1])
