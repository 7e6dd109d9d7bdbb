"""Conditional MAE through the tools, on the toy data: pretrain, then
fine-tune and linear-probe from its checkpoint and test, and draw the
reconstruction."""
import json
import re

import mmcv
import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import (config, free_port, last_metric, run_tool,
                            run_tool_here)

PRETRAIN = config('conditional_mae/toy/vit-tiny_two-shot_toy_pretrain.py')
FINETUNE = config('conditional_mae/toy/vit-tiny_toy_finetune.py')
LINPROBE = config('conditional_mae/toy/vit-tiny_toy_linprobe.py')
# The path, not the result: two iterations of 16 of the toy training images,
# no loader processes; the toy configs themselves train 10 (pretrain) and 6
# epochs (the slow tier runs them).
SHORT = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
         'train_dataloader.dataset.indices=32',
         'train_dataloader.batch_size=16', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False',
         'default_hooks.logger.interval=1']
# shots of unequal size whose losses differ: shot 1 masks 32 of the 64
# patches, shot 2 half of the 32 still visible; raw (not per-patch
# normalised) pixels of one image per step, so each shot's loss depends on
# which patches it drew (measured: 2.34 vs 1.91, then 2.07 vs 1.84)
UNEQUAL_SHOTS = ['model.backbone.mask_ratios=(0.5,0.5)',
                 'model.head.norm_pix=False',
                 'train_dataloader.batch_size=1',
                 'train_dataloader.dataset.indices=2']


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
    proc = run_tool_here(['train.py', PRETRAIN, '--work-dir',
                          str(work_dir), '--cfg-options', *SHORT,
                          *UNEQUAL_SHOTS], toy_root, check=True)
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.is_file()
    return checkpoint, proc.stdout


def test_pretrain_logs_each_shot_and_optimises_their_union(pretrained):
    _, log = pretrained
    loss, shot1, shot2 = (logged(log, key)
                          for key in (' loss', 'rec_shot1', 'rec_shot2'))
    assert len(loss) == len(shot1) == len(shot2) == 2
    # the loss over the union of 32 + 16 patches is their patch-weighted
    # mean: not shot 1's loss, not the sum or plain mean of the two
    for total, first, second in zip(loss, shot1, shot2):
        assert abs(first - second) > 0.03, (first, second)
        assert total == pytest.approx((32 * first + 16 * second) / 48,
                                      abs=2e-4)


def train_from_pretrained(toy_root, cfg, name, pretrained):
    """Train ``cfg`` from the pretrain checkpoint; returns the training log
    and the trained checkpoint."""
    work_dir = toy_root / 'work_dirs' / name
    train = run_tool_here([
        'train.py', cfg, '--work-dir', str(work_dir), '--cfg-options',
        *SHORT, f'model.backbone.init_cfg.checkpoint={pretrained}'
    ], toy_root, check=True)
    assert f'Loads checkpoint by local backend from path: {pretrained}' in (
        train.stdout)
    return train.stdout, (work_dir / 'last_checkpoint').read_text().strip()


def test_finetune_starts_from_the_whole_pretrained_encoder(
        toy_root, pretrained):
    log, trained = train_from_pretrained(toy_root, FINETUNE, 'cmae_ft',
                                         pretrained[0])
    test = run_tool_here(['test.py', FINETUNE, trained, '--work-dir',
                          str(toy_root / 'work_dirs' / 'cmae_ft')],
                         toy_root, check=True)
    # the same weights on the same images as the validation after training
    assert last_metric(test.stdout, 'accuracy/top1') == last_metric(
        log, 'accuracy/top1')
    # every encoder weight loads; the pretrain's final norm gives way to
    # the norm after global pooling
    assert 'unexpected key in source state_dict: ln1.weight, ln1.bias' in log
    assert 'missing keys in source state_dict: ln2.weight, ln2.bias' in log
    before, after = backbone_weights(pretrained[0]), backbone_weights(trained)
    assert not torch.equal(before['layers.0.ffn.layers.1.weight'],
                           after['layers.0.ffn.layers.1.weight'])


def test_linear_probe_trains_the_head_on_the_frozen_encoder(
        toy_root, pretrained):
    log, trained = train_from_pretrained(toy_root, LINPROBE, 'cmae_lin',
                                         pretrained[0])
    assert 'do not match exactly' not in log
    before, after = backbone_weights(pretrained[0]), backbone_weights(trained)
    assert before.keys() == after.keys()
    assert all(torch.equal(before[key], after[key]) for key in before)


def patches(image):
    """[64, 64, 3] -> [64 patches, 8 * 8 * 3] in raster order."""
    grid = image.reshape(8, 8, 8, 8, 3).transpose(0, 2, 1, 3, 4)
    return grid.reshape(64, -1)


def four_panels(png, side, zoom):
    """Original, after shot 1, after shot 2, reconstruction: the 4 panels
    of a reconstruction PNG (each ``side`` px enlarged ``zoom`` times, 4 px
    apart, under a 14 px caption), back at ``side`` px, as int arrays."""
    drawing = np.asarray(Image.open(png).convert('RGB')).astype(int)
    width = side * zoom
    assert drawing.shape == (14 + width, 4 * width + 3 * 4, 3)
    return [
        drawing[14:, i * (width + 4):i * (width + 4) + width][::zoom, ::zoom]
        for i in range(4)
    ]


def same_patch(panel, original):
    return np.abs(panel - original).max(axis=1) <= 1


def is_grey(panel):
    return np.abs(panel - 128).max(axis=1) <= 1


def test_show_reconstruction_writes_a_png_per_image(toy_root, pretrained):
    images = sorted((toy_root / 'data' / 'toy' / 'cls' / 'val' /
                     'circle').iterdir())[:2]
    out_dir = toy_root / 'reconstruction'
    proc = run_tool_here([
        'visualization/show_reconstruction.py', PRETRAIN,
        str(pretrained[0]), *map(str, images), '--out-dir',
        str(out_dir)
    ], toy_root, check=True)
    for image in images:
        png = out_dir / f'{image.stem}.png'
        assert f'{image} -> {png}' in proc.stdout
        original, shot1, shot2, rebuilt = map(
            patches, four_panels(png, side=64, zoom=3))
        assert np.abs(original - patches(mmcv.imread(
            str(image), channel_order='rgb').astype(int))).max() <= 1
        # the toy config's L(0, 3; 0.75, 0.1): 48 of the 64 8x8 patches
        # grey after shot 1, those and 2 of the 16 left after shot 2; the
        # 14 still visible are pasted into the reconstruction as they are
        kept1, kept2 = (same_patch(panel, original) for panel in (shot1,
                                                                  shot2))
        assert is_grey(shot1)[~kept1].all() and is_grey(shot2)[~kept2].all()
        assert (~kept1).sum() == 48 and (~kept2).sum() == 50
        assert (kept2 <= kept1).all()
        assert (same_patch(rebuilt, original) >= kept2).all()
        assert not same_patch(rebuilt, original)[~kept2].all()


def test_show_reconstruction_names_a_missing_file(toy_root, pretrained):
    proc = run_tool_here([
        'visualization/show_reconstruction.py', PRETRAIN,
        str(pretrained[0]), 'no_such.jpg'
    ], toy_root)
    assert proc.returncode == 2
    assert 'image not found: no_such.jpg' in proc.stdout


@pytest.fixture(scope='module')
def documented_pretrain(toy_root):
    """The toy two-shot pretrain as its docs run it: 10 epochs."""
    work_dir = toy_root / 'work_dirs' / 'cmae_pretrain_full'
    proc = run_tool(['train.py', PRETRAIN, '--work-dir', str(work_dir)],
                    toy_root, timeout=1800)
    return work_dir / 'epoch_10.pth', proc.stdout


@pytest.mark.slow
def test_toy_pretrain_reconstruction_loss_falls(documented_pretrain):
    loss = logged(documented_pretrain[1], ' loss')
    # docs/conditional_mae.md: the last logged loss is 0.680
    assert loss[-1] < 0.8 * loss[0], loss


@pytest.mark.slow
@pytest.mark.parametrize('cfg,name', [(FINETUNE, 'cmae_ft_full'),
                                      (LINPROBE, 'cmae_lin_full')])
def test_toy_finetune_and_linear_probe_beat_chance(toy_root, cfg, name,
                                                   documented_pretrain):
    work_dir = toy_root / 'work_dirs' / name
    run_tool(['train.py', cfg, '--work-dir', str(work_dir), '--cfg-options',
              f'model.backbone.init_cfg.checkpoint={documented_pretrain[0]}'],
             toy_root, timeout=1800)
    checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
    test = run_tool(['test.py', cfg, checkpoint, '--work-dir',
                     str(work_dir)], toy_root)
    # docs: 45.0 (fine-tune) and 42.0 (probe); 4 classes, chance 25
    assert last_metric(test.stdout, 'accuracy/top1') > 35


def test_plot_shot_losses_draws_what_the_run_logged(toy_root, pretrained,
                                                    tmp_path):
    checkpoint, log = pretrained
    proc = run_tool_here(['analysis_tools/plot_shot_losses.py',
                          str(checkpoint.parent), '--labels', 'two-shot',
                          '--out-dir', str(tmp_path)], toy_root, check=True)
    assert 'last loss' in proc.stdout
    curves = json.loads((tmp_path / 'shot_losses.json').read_text())[
        'two-shot']['curves']
    assert sorted(curves) == ['loss', 'rec_shot1', 'rec_shot2']
    for key in curves:
        assert curves[key]['step'] == [1, 2]
        assert curves[key]['value'] == pytest.approx(
            logged(log, ' loss' if key == 'loss' else key), abs=1e-4)
    assert (tmp_path / 'shot_losses.png').stat().st_size > 10_000
    empty = run_tool_here(
        ['analysis_tools/plot_shot_losses.py', str(tmp_path)], toy_root)
    assert empty.returncode == 2 and 'no scalar log' in empty.stdout


# Transfer (the paper's Sec. 3.2): the toy twins of the detection,
# segmentation and low-resolution classification recipes start from the
# pretrain checkpoint's encoder.
TRANSFER_DET = config('conditional_mae/toy/vit-tiny_toy_coco_maskrcnn.py')
TRANSFER_SEG = config('conditional_mae/toy/vit-tiny_toy_ade20k_upernet.py')
TRANSFER_CLS = config('conditional_mae/toy/vit-tiny_toy_32px_transfer.py')
NO_WORKERS = ['train_dataloader.num_workers=0',
              'train_dataloader.persistent_workers=False',
              'val_dataloader.num_workers=0',
              'val_dataloader.persistent_workers=False']


@pytest.mark.parametrize('cfg', [TRANSFER_DET, TRANSFER_SEG, TRANSFER_CLS])
def test_transfer_backbone_starts_as_the_pretrained_encoder(cfg, pretrained):
    from mmpretrain.models.utils import resize_pos_embed

    from mmmaskreuse.engine import build_model, load_config
    checkpoint = str(pretrained[0])
    model = build_model(load_config(cfg, {
        'model.backbone.init_cfg.checkpoint': checkpoint}))
    model.init_weights()
    encoder = backbone_weights(checkpoint)
    loaded = model.backbone.state_dict()
    # the 64-px pretrain's 8 x 8 position embedding is resized on loading
    # to a backbone built for other sizes (the detector's is resized to
    # each input instead, as the ViT-B recipe's 224-px one)
    grid = model.backbone.patch_resolution
    assert grid == {TRANSFER_DET: (8, 8), TRANSFER_SEG: (16, 16),
                    TRANSFER_CLS: (4, 4)}[cfg]
    # only the classifier's norm after global pooling is new
    assert [key for key in loaded if key not in encoder] == (
        ['ln2.weight', 'ln2.bias'] if cfg == TRANSFER_CLS else [])
    for key, value in loaded.items():
        expected = encoder.get(key, value)
        if key == 'pos_embed' and grid != (8, 8):
            expected = resize_pos_embed(expected, (8, 8), grid, 'bicubic', 1)
        assert torch.equal(value, expected), key


@pytest.mark.slow
@pytest.mark.parametrize('cfg, name, metrics, schedule', [
    (TRANSFER_DET, 'vit_maskrcnn', ('coco/bbox_mAP', 'coco/segm_mAP'),
     ['train_cfg.max_epochs=4', 'train_cfg.val_interval=2']),
    (TRANSFER_SEG, 'vit_upernet', ('mIoU', ),
     ['train_cfg.max_iters=100', 'train_cfg.val_interval=50',
      'default_hooks.checkpoint.interval=50']),
])
def test_toy_transfer_dist_train_sh_then_test_py(toy_root, cfg, name,
                                                 metrics, schedule,
                                                 documented_pretrain):
    """The documented toy pretrain's encoder -> Mask R-CNN / UperNet with
    ``dist_train.sh CONFIG 2`` -> ``test.py``: the loss falls, the model
    learns (docs: bbox mAP 0.000 -> 0.005 and segm mAP 0.000 -> 0.002
    between epochs 2 and 4; mIoU 33.8 and 31.5 at iterations 50 and 100,
    where predicting background everywhere scores 17.2), and test.py
    prints the last validation's figures again."""
    work_dir = toy_root / 'work_dirs' / name
    train = run_tool([
        'dist_train.sh', cfg, '2', '--work-dir', str(work_dir),
        '--cfg-options',
        f'model.backbone.init_cfg.checkpoint={documented_pretrain[0]}',
        *schedule
    ], toy_root, timeout=1800, env=dict(PORT=str(free_port())))
    assert 'Distributed training: True' in train.stdout
    losses = logged(train.stdout, ' loss')
    assert losses[-1] < 0.8 * losses[0], losses
    checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
    test = run_tool(['test.py', cfg, checkpoint, '--work-dir',
                     str(work_dir)], toy_root, timeout=1800)
    for metric in metrics:
        first, last = logged(train.stdout, metric)[-2:]
        if metric == 'mIoU':
            assert last > 25, (first, last)
        else:
            assert last > first, (metric, first, last)
        assert last_metric(test.stdout, metric) == last, metric


@pytest.mark.slow
def test_toy_32px_transfer_beats_chance(toy_root, documented_pretrain):
    work_dir = toy_root / 'work_dirs' / 'vit_32px'
    run_tool(['train.py', TRANSFER_CLS, '--work-dir', str(work_dir),
              '--cfg-options',
              f'model.backbone.init_cfg.checkpoint={documented_pretrain[0]}'],
             toy_root, timeout=1800)
    checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
    test = run_tool(['test.py', TRANSFER_CLS, checkpoint, '--work-dir',
                     str(work_dir)], toy_root)
    # docs: 46.5 (4 classes, chance 25)
    assert last_metric(test.stdout, 'accuracy/top1') > 35


def test_transfer_stops_before_training_without_the_whole_encoder(
        toy_root, pretrained, tmp_path):
    state = torch.load(pretrained[0], map_location='cpu', weights_only=False)
    for key in [k for k in state['state_dict']
                if k.startswith('backbone.layers.3.')]:
        del state['state_dict'][key]
    partial = tmp_path / 'partial.pth'
    torch.save(state, partial)
    proc = run_tool_here([
        'train.py', TRANSFER_DET, '--work-dir', str(tmp_path / 'run'),
        '--cfg-options', f'model.backbone.init_cfg.checkpoint={partial}',
        *NO_WORKERS
    ], toy_root)
    assert proc.returncode != 0
    assert (f"model.backbone.init_cfg.checkpoint='{partial}' holds no "
            'weights for layers.3.ln1.weight, layers.3.ln1.bias') in (
                proc.stdout)
    assert 'Epoch(train)' not in proc.stdout
