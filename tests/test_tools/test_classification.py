"""The README's demo (MaskAnyNet), its vanilla twin, and an interrupted run
resumed, through the tools."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, config, last_metric, run_tool

CLS = config('baselines/toy/resnet18_toy_cls.py')


@pytest.fixture(scope='module')
def demo_top1(tmp_path_factory):
    """Top-1 of ``make demo``: the MaskAnyNet toy config trained and tested
    with tools/train.py and tools/test.py."""
    proc = subprocess.run(
        ['make', '-f', os.path.join(REPO, 'Makefile'), 'demo'],
        cwd=tmp_path_factory.mktemp('demo'), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-5000:]
    result = re.search(r'demo result .*: accuracy/top1: ([0-9.]+)',
                       proc.stdout)
    assert result, proc.stdout[-3000:]
    return float(result.group(1))


def test_make_demo_trains_maskanynet_above_chance(demo_top1):
    # 4 balanced classes: chance is 25 %
    assert demo_top1 > 60


def test_maskanynet_is_comparable_to_its_vanilla_twin(toy_root, demo_top1):
    work_dir = toy_root / 'work_dirs' / 'vanilla'
    run_tool(['train.py', CLS, '--work-dir', str(work_dir)], toy_root)
    checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
    proc = run_tool(['test.py', CLS, checkpoint, '--work-dir',
                     str(work_dir)], toy_root)
    vanilla = last_metric(proc.stdout, 'accuracy/top1')
    assert vanilla > 60
    assert demo_top1 > vanilla - 10, (demo_top1, vanilla)


def test_killed_run_resumes_from_its_last_checkpoint(toy_root):
    work_dir = toy_root / 'work_dirs' / 'resume'
    options = ['--work-dir', str(work_dir), '--cfg-options',
               'train_dataloader.dataset.indices=640',
               'train_cfg.max_epochs=4', 'train_cfg.val_interval=4',
               'default_hooks.checkpoint.interval=1',
               'default_hooks.checkpoint.max_keep_ckpts=4']
    first = subprocess.Popen(
        [sys.executable, os.path.join(REPO, 'tools', 'train.py'), CLS,
         *options], cwd=toy_root, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 600
    while not (work_dir / 'epoch_2.pth').exists():
        assert first.poll() is None, 'training stopped before epoch 2'
        assert time.time() < deadline, 'no epoch_2.pth after 10 min'
        time.sleep(0.5)
    time.sleep(1)  # let the checkpoint file be written completely
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert not (work_dir / 'epoch_4.pth').exists()
    done = sorted(p.name for p in work_dir.glob('epoch_*.pth'))

    proc = run_tool(['train.py', CLS, '--resume', *options], toy_root)
    resumed = int(re.search(r'resumed epoch: (\d+)', proc.stdout).group(1))
    assert f'epoch_{resumed}.pth' == done[-1]
    epochs = {int(e) for e in re.findall(r'Epoch\(train\)\s+\[(\d+)\]',
                                         proc.stdout)}
    assert epochs == set(range(resumed + 1, 5))
    assert (work_dir / 'epoch_4.pth').exists()
    assert last_metric(proc.stdout, 'accuracy/top1') >= 0
