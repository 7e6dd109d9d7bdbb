"""Conditional MAE through the tools, on the toy data: pretrain, then
fine-tune and linear-probe from its checkpoint and test, and draw the
reconstruction."""
import re

import pytest
import torch
from PIL import Image

from tests.conftest import config, last_metric, run_tool

PRETRAIN = config('conditional_mae/toy/vit-tiny_two-shot_toy_pretrain.py')
FINETUNE = config('conditional_mae/toy/vit-tiny_toy_finetune.py')
LINPROBE = config('conditional_mae/toy/vit-tiny_toy_linprobe.py')
# CPU-sized runs: one epoch on 640 of the 2000 toy training images (10
# iterations of 64); the toy configs themselves train 10 (pretrain) and 6
# epochs.
SHORT = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
         'train_dataloader.dataset.indices=640']


def logged(log, key):
    """Every ``key: value`` of the training log, in order."""
    return [float(v) for v in re.findall(re.escape(key) + r': ([0-9.]+)',
                                         log)]


def backbone_weights(checkpoint):
    state = torch.load(checkpoint, map_location='cpu', weights_only=False)
    return {
        key[len('backbone.'):]: value
        for key, value in state['state_dict'].items()
        if key.startswith('backbone.')
    }


@pytest.fixture(scope='module')
def pretrained(toy_root):
    """A toy two-shot pretrain checkpoint, and the training log."""
    work_dir = toy_root / 'work_dirs' / 'cmae_pretrain'
    proc = run_tool(['train.py', PRETRAIN, '--work-dir',
                     str(work_dir), '--cfg-options', *SHORT], toy_root)
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.is_file()
    return checkpoint, proc.stdout


def test_pretrain_logs_each_shot_and_optimises_their_union(pretrained):
    _, log = pretrained
    loss, shot1, shot2 = (logged(log, key)
                          for key in (' loss', 'rec_shot1', 'rec_shot2'))
    assert len(loss) == len(shot1) == len(shot2) > 0
    # 64 patches: shot 1 masks 48, shot 2 masks 16 - 14 = 2 more; the loss
    # over their union is the patch-weighted mean, not a sum of the entries
    for total, first, second in zip(loss, shot1, shot2):
        assert total == pytest.approx((48 * first + 2 * second) / 50,
                                      abs=2e-4)


def train_from_pretrained_and_test(toy_root, cfg, name, pretrained):
    """Train ``cfg`` from the pretrain checkpoint, then test it; returns the
    training log, the trained checkpoint and the top-1 test.py printed."""
    work_dir = toy_root / 'work_dirs' / name
    train = run_tool([
        'train.py', cfg, '--work-dir', str(work_dir), '--cfg-options',
        *SHORT, f'model.backbone.init_cfg.checkpoint={pretrained}'
    ], toy_root)
    assert f'Loads checkpoint by local backend from path: {pretrained}' in (
        train.stdout)
    trained = (work_dir / 'last_checkpoint').read_text().strip()
    test = run_tool(['test.py', cfg, trained, '--work-dir', str(work_dir)],
                    toy_root)
    top1 = last_metric(test.stdout, 'accuracy/top1')
    # the same weights on the same images as the validation after training
    assert top1 == last_metric(train.stdout, 'accuracy/top1')
    return train.stdout, trained, top1


def test_finetune_starts_from_the_whole_pretrained_encoder(
        toy_root, pretrained):
    log, trained, _ = train_from_pretrained_and_test(
        toy_root, FINETUNE, 'cmae_ft', pretrained[0])
    # every encoder weight loads; the pretrain's final norm gives way to
    # the norm after global pooling
    assert 'unexpected key in source state_dict: ln1.weight, ln1.bias' in log
    assert 'missing keys in source state_dict: ln2.weight, ln2.bias' in log
    before, after = backbone_weights(pretrained[0]), backbone_weights(trained)
    assert not torch.equal(before['layers.0.ffn.layers.1.weight'],
                           after['layers.0.ffn.layers.1.weight'])


def test_linear_probe_trains_the_head_on_the_frozen_encoder(
        toy_root, pretrained):
    log, trained, _ = train_from_pretrained_and_test(
        toy_root, LINPROBE, 'cmae_lin', pretrained[0])
    assert 'do not match exactly' not in log
    before, after = backbone_weights(pretrained[0]), backbone_weights(trained)
    assert before.keys() == after.keys()
    assert all(torch.equal(before[key], after[key]) for key in before)


def test_show_reconstruction_writes_a_png_per_image(toy_root, pretrained):
    images = sorted((toy_root / 'data' / 'toy' / 'cls' / 'val' /
                     'circle').iterdir())[:2]
    out_dir = toy_root / 'reconstruction'
    proc = run_tool([
        'visualization/show_reconstruction.py', PRETRAIN,
        str(pretrained[0]), *map(str, images), '--out-dir',
        str(out_dir)
    ], toy_root)
    for image in images:
        png = out_dir / f'{image.stem}.png'
        assert f'{image} -> {png}' in proc.stdout
        # original, after shot 1, after shot 2, reconstruction: 4 panels of
        # the 64x64 image enlarged 3x, 4 px apart, under a 14 px caption
        assert Image.open(png).size == (4 * 192 + 3 * 4, 14 + 192)


def test_show_reconstruction_names_a_missing_file(toy_root, pretrained):
    proc = run_tool([
        'visualization/show_reconstruction.py', PRETRAIN,
        str(pretrained[0]), 'no_such.jpg'
    ], toy_root, check=False)
    assert proc.returncode == 2
    assert 'image not found: no_such.jpg' in proc.stdout
