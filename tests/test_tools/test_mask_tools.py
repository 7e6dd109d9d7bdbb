"""The mask analysis and visualisation tools, run as a user would."""
import csv
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import config, run_tool_here

STATS = 'analysis_tools/mask_strategy_stats.py'
SHOW = 'visualization/show_masks.py'
VAL = 'data/toy/cls/val'
ROW = re.compile(r'^(\w+) +([0-9.]+) +(-?[0-9.]+) +(-?[0-9.]+) +([0-9.]+)$',
                 re.M)


def stats_rows(stdout):
    """Printed table rows as (strategy, ratio, delta_H, similarity, F)."""
    return [(name, *map(float, values))
            for name, *values in ROW.findall(stdout)]


def test_mask_strategy_stats_table_csv_json_and_plot(toy_root, tmp_path):
    out_dir = tmp_path / 'stats'
    proc = run_tool_here([STATS, '--data-root', VAL, '--max-images', '8',
                          '--img-size', '64', '--grid-size', '8',
                          '--strategies', 'Patch', 'Grid', '--ratios',
                          '0.0625', '0.25',
                          '--batch-size', '4', '--out-dir', str(out_dir)],
                         toy_root, check=True)
    assert 'randomly initialised ResNet-18' in proc.stdout
    rows = stats_rows(proc.stdout)
    assert [row[:2] for row in rows] == [('Patch', 0.0625), ('Patch', 0.25),
                                         ('Grid', 0.0625), ('Grid', 0.25)]
    for _, _, gain, similarity, score in rows:
        assert 0 <= gain <= 1 and -1 <= similarity <= 1 and 0 <= score <= 1
    # the row with the largest ΔH has a = 1, so F = 2 s / (1 + s)
    _, _, _, similarity, score = max(rows, key=lambda row: row[2])
    assert score == pytest.approx(2 * similarity / (1 + similarity),
                                  abs=2e-4)

    with open(out_dir / 'mask_strategy_stats.csv') as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == ['strategy', 'ratio', 'delta_H', 'similarity',
                              'F']
    assert [float(row['F']) for row in table] == pytest.approx(
        [row[4] for row in rows], abs=1e-4)
    summary = json.loads((out_dir / 'mask_strategy_stats.json').read_text())
    assert summary['images'] == 8 and summary['centred_cosine']
    with Image.open(out_dir / 'mask_strategy_stats.png') as plot:
        assert plot.format == 'PNG' and plot.size == (1200, 360)
        drawing = np.asarray(plot.convert('RGB')).astype(int)
    # each of the 3 panels (dH, similarity, F) draws a line per strategy in
    # matplotlib's first two colours (Patch blue, Grid orange)
    for panel in range(3):
        pixels = drawing[:, panel * 400:(panel + 1) * 400]
        for colour in ((31, 119, 180), (255, 127, 14)):
            assert (np.abs(pixels - colour).max(axis=-1) <= 10).sum() > 50


def test_mask_strategy_stats_with_a_classifier_checkpoint(toy_root, tmp_path):
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    cls_config = config('baselines/toy/resnet18_toy_cls.py')
    torch.manual_seed(0)
    # a checkpoint of the untrained classifier: enough to load and run
    model = MODELS.build(Config.fromfile(cls_config).model)
    checkpoint = tmp_path / 'r18.pth'
    torch.save(dict(state_dict=model.state_dict()), checkpoint)

    proc = run_tool_here([STATS, '--data-root', VAL, '--max-images', '4',
                          '--img-size', '64', '--strategies', 'Combined',
                          '--ratios', '0.25', '--config', cls_config,
                          '--checkpoint', str(checkpoint), '--out-dir',
                          str(tmp_path / 'stats')], toy_root, check=True)
    assert 'randomly initialised' not in proc.stdout
    (row, ) = stats_rows(proc.stdout)
    # one row: it holds the largest ΔH itself
    assert row[:2] == ('Combined', 0.25)
    assert row[4] == pytest.approx(2 * row[3] / (1 + row[3]), abs=2e-4)


@pytest.mark.parametrize('tool,flags', [
    (STATS, ['--ratios', '0.25', '0.3', '--out-dir', 'unused']),
    (SHOW, ['--mask-ratio', '0.3', '--out', 'unused.png']),
])
def test_ratio_the_grid_cannot_realise_is_a_clear_error(
        toy_root, tool, flags):
    proc = run_tool_here([tool, '--data-root', VAL, *flags], toy_root)
    assert proc.returncode == 2
    assert ('mask_ratio=0.3 cannot be realised: grid_size[0]=8 times '
            'sqrt(mask_ratio) is 4.38178, not a positive integer'
            in proc.stdout)


def test_show_masks_from_a_data_folder(toy_root, tmp_path):
    out = tmp_path / 'vis' / 'masks.png'
    run_tool_here([SHOW, '--data-root', VAL, '--num-images', '2', '--img-size',
                   '64', '--out', str(out)], toy_root, check=True)
    with Image.open(out) as image:
        # columns: original + (masked, reuse) x 4 strategies; 160 x 180 px
        assert image.format == 'PNG' and image.size == (9 * 160, 2 * 180)


def test_show_masks_of_given_files_draws_masked_and_reuse_images(tmp_path):
    """Solid red and blue images, Patch at 0.25, grey fill: the masked
    panel is a quarter grey, the reuse panel (half the sides, drawn at
    scale) is the image's own colour only."""
    colours = [(200, 30, 30), (30, 30, 200)]
    files = []
    for i, colour in enumerate(colours):
        files.append(tmp_path / f'solid{i}.png')
        Image.new('RGB', (64, 64), colour).save(files[-1])
    out = tmp_path / 'masks.png'
    proc = run_tool_here([SHOW, *map(str, files), '--strategies', 'Patch',
                          '--mask-ratio', '0.25', '--fill-value', '128',
                          '--img-size', '64', '--out', str(out)], tmp_path,
                         check=True)
    assert '2 images x 1 strategies' in proc.stdout
    with Image.open(out) as image:
        # columns: original, masked, reuse; 160 x 180 px tiles
        assert image.size == (3 * 160, 2 * 180)
        drawing = np.asarray(image.convert('RGB')).astype(int)
    # the column titles above the first row are antialiased text: grey
    drawing[:26] = 255

    def count(tile, colour):
        return int((np.abs(tile - colour).max(axis=-1) <= 8).sum())

    for row, colour in enumerate(colours):
        original, masked, reuse = (
            drawing[row * 180:(row + 1) * 180, col * 160:(col + 1) * 160]
            for col in range(3))
        area = count(original, colour)
        assert area > 80 * 80 and count(original, (128, 128, 128)) == 0
        grey = (128, 128, 128)
        assert count(masked, grey) == pytest.approx(area / 4, rel=0.1)
        assert count(masked, colour) == pytest.approx(3 * area / 4,
                                                      rel=0.1)
        assert count(reuse, colour) == pytest.approx(area / 4, rel=0.1)
        assert count(reuse, grey) == 0
