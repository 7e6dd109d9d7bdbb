"""The README's demo (MaskAnyNet), its vanilla twin, and an interrupted run
resumed, through the tools."""
import pickle
import re
import shutil

import pytest
import torch

from tests.conftest import (config, last_metric, predict_in_process,
                            run_make_demo, run_tool)

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


def test_test_py_out_and_show_dir_hold_the_checkpoint_predictions(
        toy_root, trained_classifier):
    out = toy_root / 'cls_results.pkl'
    show_dir = toy_root / 'cls_show'
    run_tool(['test.py', DEMO, trained_classifier.checkpoint, '--work-dir',
              str(trained_classifier.work_dir), '--out', str(out),
              '--show-dir', str(show_dir), '--cfg-options',
              'test_dataloader.dataset.indices=4'], toy_root)
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


def _state_dict(path):
    return torch.load(path, map_location='cpu',
                      weights_only=False)['state_dict']


def test_train_py_resume_after_a_kill_ends_with_the_uninterrupted_weights(
        toy_root):
    """A run killed after saving epoch 3 but before updating
    ``last_checkpoint`` (still naming epoch 2), while saving epoch 4 (a
    partial temporary file), is resumed with ``--resume``: it follows
    ``last_checkpoint`` and ends with the weights of the run that was never
    interrupted."""
    # deterministic training: no flips, no loader workers, the sampler's
    # seeded shuffle; 4 iterations of 16 per epoch, a checkpoint each
    options = ['--cfg-options', 'train_dataloader.dataset.indices=64',
               'train_dataloader.batch_size=16',
               'train_dataloader.dataset.pipeline.1.prob=0.0',
               'train_dataloader.num_workers=0',
               'train_dataloader.persistent_workers=False',
               'train_cfg.max_epochs=4', 'train_cfg.val_begin=100',
               'default_hooks.checkpoint.interval=1',
               'default_hooks.checkpoint.max_keep_ckpts=4']
    reference_dir = toy_root / 'work_dirs' / 'uninterrupted'
    run_tool(['train.py', CLS, '--work-dir', str(reference_dir), *options],
             toy_root)

    work_dir = toy_root / 'work_dirs' / 'resume'
    work_dir.mkdir(parents=True)
    for epoch in (1, 2, 3):
        shutil.copy(reference_dir / f'epoch_{epoch}.pth', work_dir)
    saved = (reference_dir / 'epoch_4.pth').read_bytes()
    (work_dir / '.epoch_4.pth.x1y2.part').write_bytes(saved[:len(saved) // 2])
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_2.pth'))

    proc = run_tool(['train.py', CLS, '--work-dir', str(work_dir),
                     '--resume', *options], toy_root)
    assert (f'resuming from {work_dir / "epoch_2.pth"} (last_checkpoint)'
            in proc.stdout)
    assert f'Load checkpoint from {work_dir / "epoch_2.pth"}' in proc.stdout
    assert re.search(r'resumed epoch: 2\b', proc.stdout)
    epochs = {int(e) for e in re.findall(r'Epoch\(train\)\s+\[(\d+)\]',
                                         proc.stdout)}
    assert epochs == {3, 4}
    final = _state_dict(work_dir / 'epoch_4.pth')
    expected = _state_dict(reference_dir / 'epoch_4.pth')
    assert final.keys() == expected.keys()
    for key in expected:
        assert torch.allclose(final[key].float(), expected[key].float(),
                              rtol=1e-4, atol=1e-6), key


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
