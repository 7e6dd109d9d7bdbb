"""The README's demo (MaskAnyNet), its vanilla twin, and an interrupted run
resumed, through the tools."""
import os
import os.path as osp
import pickle
import re
import shutil
import signal

import pytest
import torch

from tests.conftest import (REPO, assert_same_weights, config, last_metric,
                            predict_in_process, run_make, run_make_demo,
                            run_tool, run_tool_here, serve_over_http)

CLS = config('baselines/toy/resnet18_toy_cls.py')
DEMO = config('maskanynet/toy/resnet18_toy_cls.py')


def test_make_demo_trains_then_tests_with_the_checkpoint(trained_classifier):
    """``make demo`` (shortened): toy data, train.py, then test.py on the
    checkpoint train.py wrote; test.py scores the same weights on the same
    images as the validation that ended training."""
    log = trained_classifier.log
    assert 'Epoch(train) [1][2/2]' in log
    shown = re.search(r'demo result .*: accuracy/top1: ([0-9.]+)', log)
    assert shown, log[-3000:]
    assert float(shown.group(1)) == last_metric(
        log.split('test.py', 1)[0], 'accuracy/top1')


def test_make_toy_data_writes_the_data_once(tmp_path):
    """``make demo``'s first step in an empty folder writes every toy set;
    run again, it sees the manifest newer than the generator and skips."""
    first = run_make(tmp_path, 'toy-data', timeout=300)
    assert first.returncode == 0, first.stdout
    assert 'toy data in data/toy: {"cls": {"train": 2000' in first.stdout
    toy = tmp_path / 'data' / 'toy'
    assert len(list((toy / 'cls' / 'train').rglob('*.jpg'))) == 2000
    assert (toy / 'coco' / 'annotations' / 'instances_val2017.json').is_file()
    second = run_make(tmp_path, 'toy-data', timeout=300)
    assert second.returncode == 0, second.stdout
    assert 'make_toy_data.py' not in second.stdout


def test_test_py_out_and_show_dir_hold_the_checkpoint_predictions(
        toy_root, trained_classifier, tmp_path):
    """test.py of a checkpoint at a URL, as in a model zoo."""
    out = toy_root / 'cls_results.pkl'
    show_dir = toy_root / 'cls_show'
    checkpoint = trained_classifier.checkpoint
    with serve_over_http(osp.dirname(checkpoint)) as url:
        run_tool_here([
            'test.py', DEMO, f'{url}/{osp.basename(checkpoint)}',
            '--work-dir', str(trained_classifier.work_dir), '--out',
            str(out), '--show-dir', str(show_dir), '--cfg-options',
            'test_dataloader.dataset.indices=4'
        ], toy_root, env=dict(TORCH_HOME=str(tmp_path)), check=True)
    # downloaded as torch.hub does
    assert (tmp_path / 'hub' / 'checkpoints' /
            osp.basename(checkpoint)).is_file()
    with open(out, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 4
    for result in results[:2]:
        expected = predict_in_process(DEMO, trained_classifier.checkpoint,
                                      str(toy_root / result['img_path']))
        assert torch.allclose(result['pred_score'], expected.pred_score,
                              atol=1e-5)
    drawn = [p for p in show_dir.rglob('*') if p.suffix in ('.jpg', '.png')]
    assert len(drawn) == 4


# the MaskAnyNet demo, with Mixup as its ImageNet recipes: every source of
# randomness a run has (masks; random flips and AutoAugment copies in 2
# loader workers, made anew each epoch: persistent ones are in the
# dist_train.sh test; Mixup's draws from numpy and torch in the trainer;
# the sampler's shuffle); 16 images of the 4 classes (every 125th), 4
# iterations of 4 per epoch, 3 epochs, a checkpoint each, no validation
MIXUP = ("data_preprocessor = dict(batch_augments=dict(augments=["
         "dict(type='Mixup', alpha=1.0)]))\n")
TINY = ['train_dataloader.dataset.indices=[%s]' % ','.join(
            str(index) for index in range(0, 2000, 125)),
        'train_dataloader.persistent_workers=False',
        'train_dataloader.batch_size=4', 'train_cfg.max_epochs=3',
        'train_cfg.val_begin=100', 'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=3',
        'default_hooks.logger.interval=1']


def trained_batches(log):
    """(epoch, batch) of every training iteration a log shows."""
    return [(int(e), int(b)) for e, b in re.findall(
        r'Epoch\(train\)\s+\[(\d+)\]\[\s*(\d+)/\d+\]', log)]


@pytest.fixture(scope='module')
def mixup_demo(toy_root):
    """The MaskAnyNet demo config with Mixup."""
    leaf = toy_root / 'maskanynet_mixup_cls.py'
    leaf.write_text(f'_base_ = [{DEMO!r}]\n' + MIXUP)
    return leaf


@pytest.fixture(scope='module')
def uninterrupted(toy_root, mixup_demo):
    """The work dir of a 3-epoch run that nothing interrupted."""
    work_dir = toy_root / 'work_dirs' / 'uninterrupted'
    run_tool_here(['train.py', str(mixup_demo), '--work-dir', str(work_dir),
                   '--cfg-options', *TINY], toy_root, check=True)
    return work_dir


def test_train_py_resume_after_a_kill_ends_with_the_uninterrupted_weights(
        toy_root, mixup_demo, uninterrupted):
    """A run killed after saving epoch 2 but before updating
    ``last_checkpoint`` (still naming epoch 1), while saving epoch 3 (a
    partial temporary file), is resumed with ``--resume``: it follows
    ``last_checkpoint``, removes the partial file, naming it, and ends with
    the weights of the run that was never interrupted, bit for bit. Its
    checkpoints have the mode of the other files of the work dir."""
    work_dir = toy_root / 'work_dirs' / 'resume'
    work_dir.mkdir(parents=True)
    for epoch in (1, 2):
        shutil.copy(uninterrupted / f'epoch_{epoch}.pth', work_dir)
    saved = (uninterrupted / 'epoch_3.pth').read_bytes()
    partial = work_dir / '.epoch_3.pth.x1y2z3w4.part'
    partial.write_bytes(saved[:len(saved) // 2])
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_1.pth'))

    proc = run_tool_here(['train.py', str(mixup_demo), '--work-dir',
                          str(work_dir), '--resume', '--cfg-options', *TINY],
                         toy_root, check=True)
    assert (f'resuming from {work_dir / "epoch_1.pth"} (last_checkpoint)'
            in proc.stdout)
    assert (f'removed 1 partial file(s) that saves cut short by a kill left: '
            f'{partial}') in proc.stdout
    assert not partial.exists()
    # as last_checkpoint, which the run writes with open()
    assert ((work_dir / 'epoch_3.pth').stat().st_mode
            == (work_dir / 'last_checkpoint').stat().st_mode)
    assert f'Load checkpoint from {work_dir / "epoch_1.pth"}' in proc.stdout
    assert re.search(r'resumed epoch: 1\b', proc.stdout)
    epochs = {int(e) for e in re.findall(r'Epoch\(train\)\s+\[(\d+)\]',
                                         proc.stdout)}
    assert epochs == {2, 3}
    assert_same_weights(work_dir / 'epoch_3.pth',
                        uninterrupted / 'epoch_3.pth')


SIGNAL_HOOK = """
import os
import signal

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class SignalDuring(Hook):
    \"\"\"Sends this process ``signal`` as iteration ``iteration`` starts,
    as a scheduler (SIGTERM) or Ctrl-C (SIGINT) would while it runs.\"\"\"

    def __init__(self, iteration, signal='SIGTERM'):
        self.iteration = iteration
        self.signal = signal

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.iteration:
            os.kill(os.getpid(), getattr(signal, self.signal))
"""


def signal_during(tmp_path, iteration, signal='SIGTERM', base=CLS):
    """A config: ``base`` (the toy classifier) whose run gets ``signal`` as
    iteration ``iteration`` starts (module ``signal_during`` in
    ``tmp_path``)."""
    (tmp_path / 'signal_during.py').write_text(SIGNAL_HOOK)
    leaf = tmp_path / 'signal_cls.py'
    leaf.write_text(
        f'_base_ = [{str(base)!r}]\n'
        "custom_imports = dict(imports=['mmmaskreuse', 'signal_during'], "
        'allow_failed_imports=False)\n'
        f"custom_hooks = [dict(type='SignalDuring', iteration={iteration}, "
        f'signal={signal!r})]\n')
    return leaf


def test_sigterm_then_a_full_disk_then_resume_lose_no_iteration(
        toy_root, mixup_demo, uninterrupted, tmp_path):
    """A SIGTERM during the 7th iteration (3rd of epoch 2) saves that
    iteration and stops (143); ``--resume`` under a full disk (``ulimit
    -f``) trains on, fails to write epoch 2 and says so, keeping every
    earlier checkpoint; a later ``--resume``, beside a part file a kill
    during that save would leave, continues epoch 2 after its 3rd batch,
    with new loader workers and without the config's seed, and ends with
    the weights of the run that was never interrupted, bit for bit: it drew
    the same batches, masks, flips, AutoAugment copies and Mixup pairs."""
    leaf = signal_during(tmp_path, iteration=6, base=mixup_demo)
    work_dir = toy_root / 'work_dirs' / 'preempted'
    args = ['--work-dir', str(work_dir), '--cfg-options', *TINY]

    proc = run_tool(['train.py', str(leaf), *args], toy_root, check=False,
                    # this checkout's package, not an installed one
                    env=dict(PYTHONPATH=f'{tmp_path}{os.pathsep}{REPO}'))
    assert proc.returncode == 143, proc.stdout[-3000:]
    saved = work_dir / 'iter_7.pth'
    assert f'SIGTERM: stopped after iteration 7 and saved {saved}' in (
        proc.stdout)
    assert (work_dir / 'last_checkpoint').read_text() == str(saved)
    assert trained_batches(proc.stdout)[-1] == (2, 3)

    # a checkpoint is ~0.5 MB: the log fits under 300 kB, epoch_2.pth not
    full_disk = run_tool(['train.py', str(mixup_demo), *args, '--resume'],
                         toy_root, check=False, file_size_limit=300_000)
    assert full_disk.returncode != 0
    assert 'File too large' in full_disk.stdout, full_disk.stdout[-3000:]
    assert trained_batches(full_disk.stdout) == [(2, 4)]
    assert sorted(p.name for p in work_dir.iterdir() if p.suffix == '.pth'
                  ) == ['epoch_1.pth', 'iter_7.pth']
    assert not list(work_dir.glob('.*.part'))
    assert (work_dir / 'last_checkpoint').read_text() == str(saved)

    (work_dir / '.epoch_2.pth.k1l2.part').write_bytes(
        (uninterrupted / 'epoch_2.pth').read_bytes()[:1000])
    # as from a config that sets no seed: this start draws one of its own
    proc = run_tool(['train.py', str(mixup_demo), *args,
                     'randomness.seed=None', '--resume'], toy_root)
    assert f'resuming from {saved} (last_checkpoint)' in proc.stdout
    assert 'resuming epoch 2 after its batch 3 of 4' in proc.stdout
    assert trained_batches(proc.stdout) == [(2, 4), (3, 1), (3, 2), (3, 3),
                                            (3, 4)]
    assert_same_weights(work_dir / 'epoch_3.pth',
                        uninterrupted / 'epoch_3.pth')
    assert 'shuffling with the sampler seed of the resumed run, 0' in (
        proc.stdout)


def test_ctrl_c_saves_the_running_iteration_then_stops(toy_root, tmp_path,
                                                      monkeypatch):
    """Ctrl-C (SIGINT) during the 2nd iteration: as a SIGTERM, the
    iteration ends, is saved, and the run exits (130, 128 + SIGINT)."""
    monkeypatch.syspath_prepend(str(tmp_path))  # signal_during, imported here
    work_dir = tmp_path / 'work'
    ctrl_c = signal.getsignal(signal.SIGINT)
    try:
        proc = run_tool_here([
            'train.py', str(signal_during(tmp_path, 1, 'SIGINT')),
            '--work-dir', str(work_dir), '--cfg-options',
            *TINY, 'train_dataloader.num_workers=0'], toy_root)
    except KeyboardInterrupt:  # caught here: it would end the session
        pytest.fail('Ctrl-C ended the run with nothing saved')
    saved = work_dir / 'iter_2.pth'
    assert proc.returncode == 130, proc.stdout[-3000:]
    assert (f'SIGINT: stopped after iteration 2 and saved {saved}'
            in proc.stdout)
    assert (work_dir / 'last_checkpoint').read_text() == str(saved)
    assert trained_batches(proc.stdout) == [(1, 1), (1, 2)]
    # the run stopped before it could give Ctrl-C back: run_tool_here did
    assert signal.getsignal(signal.SIGINT) is ctrl_c


@pytest.fixture(scope='module')
def full_demo(toy_root):
    """``make demo`` as the README runs it: 6 toy epochs."""
    return run_make_demo(toy_root, demo_dir='work_dirs/demo_full')


@pytest.mark.slow
def test_make_demo_trains_maskanynet_above_chance(full_demo):
    # 4 balanced classes: chance is 25 %
    assert full_demo.top1 > 60


@pytest.mark.slow
def test_maskanynet_is_comparable_to_its_vanilla_twin(toy_root, full_demo):
    work_dir = toy_root / 'work_dirs' / 'vanilla'
    run_tool(['train.py', CLS, '--work-dir', str(work_dir)], toy_root)
    checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
    proc = run_tool(['test.py', CLS, checkpoint, '--work-dir',
                     str(work_dir)], toy_root)
    vanilla = last_metric(proc.stdout, 'accuracy/top1')
    assert vanilla > 60
    assert full_demo.top1 > vanilla - 10, (full_demo.top1, vanilla)


@pytest.mark.slow
@pytest.mark.parametrize('family', ['maskanynet', 'baselines'])
def test_efficientnet_v2_toy_twins_learn_above_chance(toy_root, family):
    """The EfficientNetV2-B0 toy recipes (issue 21, 6 epochs), MaskAnyNet
    and its vanilla twin, each through tools/train.py, then tools/test.py
    on the checkpoint it wrote: above chance (25 %, 4 balanced classes)."""
    name = config(f'{family}/toy/efficientnetv2-b0_toy_cls.py')
    work_dir = toy_root / 'work_dirs' / f'efficientnetv2_{family}'
    run_tool(['train.py', name, '--work-dir', str(work_dir)], toy_root,
             timeout=3600)
    checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
    assert checkpoint.endswith('epoch_6.pth')
    proc = run_tool(['test.py', name, checkpoint, '--work-dir',
                     str(work_dir)], toy_root)
    print(family, 'top-1', last_metric(proc.stdout, 'accuracy/top1'))
    assert last_metric(proc.stdout, 'accuracy/top1') > 40
