"""Entropy gain, feature similarity and F-score of masking strategies.

MaskAnyNet's trade-off analysis: for every strategy and mask ratio, over the
images of a class-folder dataset, the information diversity the reuse image
adds (entropy gain ΔH, in bits), its feature similarity to the original
image and their F-score. Definitions (see
``mmmaskreuse/analysis/entropy_similarity.py``):

- ΔH = H(V ∪ R) - (n_V H(V) + n_R H(R)) / (n_V + n_R) for the grey-level
  histograms of the masked image's visible pixels V and of the reuse image
  R: 0 when the reuse image repeats what stays visible.
- similarity: cosine similarity of the globally pooled features of the
  reuse image, bilinearly upsampled to the original's size, and of the
  original image, both centred on the mean feature of the original images
  (a first pass over the data; ``--raw-cosine`` skips it): raw pooled ReLU
  features give any two images a cosine near 1.
- F = 2ab / (a + b) with a = mean ΔH / the largest mean ΔH in the table and
  b = mean similarity.

Writes the table to ``OUT_DIR/mask_strategy_stats.{csv,json}`` and a plot to
``OUT_DIR/mask_strategy_stats.png``.

Examples:
    # a seeded, randomly initialised ResNet-18 extracts the features
    python tools/analysis_tools/mask_strategy_stats.py \\
        --data-root data/toy/cls/train --max-images 200 --img-size 64

    # features of a trained classifier
    python tools/analysis_tools/mask_strategy_stats.py \\
        --data-root data/toy/cls/train --max-images 200 --img-size 64 \\
        --config configs/baselines/toy/resnet18_toy_cls.py \\
        --checkpoint work_dirs/baselines/toy/resnet18_toy_cls/epoch_6.pth
"""
import argparse
import csv
import json
import os
import os.path as osp

import torch
from matplotlib.figure import Figure
from mmengine.config import Config

from mmmaskreuse.analysis import (STRATEGIES, build_mask_reuse, cell_grid,
                                  cosine_similarity, entropy_gain, f_score,
                                  list_images, load_images, normalise_by_max,
                                  pick_images, pooled_features)
from mmmaskreuse.engine import build_model, load_checked, load_config
from mmmaskreuse.masking import resize_image

# mmpretrain's ResNet-18 with its ImageNet normalisation, left untrained
RANDOM_RESNET18 = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18),
    neck=dict(type='GlobalAveragePooling'),
    data_preprocessor=dict(type='ClsDataPreprocessor',
                           mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375],
                           to_rgb=True))
COLUMNS = ('strategy', 'ratio', 'delta_H', 'similarity', 'F')
NAME = 'mask_strategy_stats'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', required=True,
                        help='image folder, e.g. data/toy/cls/train')
    parser.add_argument('--max-images', type=int, default=None,
                        help='a seeded random subset of this many images')
    parser.add_argument('--img-size', type=int, default=64,
                        help='square side images are resized to')
    parser.add_argument('--strategies', nargs='+', default=list(STRATEGIES),
                        choices=STRATEGIES)
    parser.add_argument('--ratios', nargs='+', type=float,
                        default=[0.0625, 0.25, 0.5625])
    parser.add_argument('--grid-size', type=int, nargs='+', default=[8],
                        help='cells gh [gw] over the image')
    parser.add_argument('--grid-period', type=int, default=None,
                        help='Grid mask period in cells (default: the '
                        'smallest that realises each ratio)')
    parser.add_argument('--config', help='mmpretrain classifier config')
    parser.add_argument('--checkpoint', help='checkpoint of --config')
    parser.add_argument('--raw-cosine', action='store_true',
                        help='do not centre features on the dataset mean')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out-dir', default='work_dirs/' + NAME)
    args = parser.parse_args()
    if (args.config is None) != (args.checkpoint is None):
        parser.error('--config and --checkpoint go together')
    for flag in ('config', 'checkpoint'):
        path = getattr(args, flag)
        if path is not None and not osp.isfile(path):
            parser.error(f'{flag} not found: {path}')
    try:
        args.grid_size = cell_grid(args.grid_size, args.img_size)
        args.maskers = {(strategy, ratio): build_mask_reuse(
            strategy, ratio, args.grid_size, args.grid_period)
                        for strategy in args.strategies
                        for ratio in args.ratios}
        paths = list_images(args.data_root)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    args.paths = pick_images(paths, args.max_images, args.seed)
    return args


def build_feature_extractor(config, checkpoint, seed):
    """An mmpretrain classifier in eval mode: ``config`` with ``checkpoint``
    loaded, or a ResNet-18 initialised with ``seed``."""
    torch.manual_seed(seed)
    if config is None:
        cfg = Config(dict(model=RANDOM_RESNET18, default_scope='mmpretrain'))
        return build_model(cfg, init_weights=True).eval()
    model = build_model(load_config(config))
    load_checked(model, checkpoint, config)  # refused if it does not fit
    return model.eval()


@torch.no_grad()
def features(model, images):
    """Pooled features [B, D] of RGB images [B, 3, H, W] in [0, 255], fed
    in BGR as mmcv's LoadImageFromFile loads them, through the model's own
    data preprocessor (normalisation, BGR -> RGB)."""
    inputs = model.data_preprocessor(dict(inputs=images.flip(1)))['inputs']
    return pooled_features(model.extract_feat(inputs))


def batches(args):
    """Image batches [B, 3, S, S] of ``args.paths``."""
    for start in range(0, len(args.paths), args.batch_size):
        yield load_images(args.paths[start:start + args.batch_size],
                          args.img_size)


def measure(args, model):
    """Mean ΔH and similarity per (strategy, ratio) over ``args.paths``."""
    center = None
    if not args.raw_cosine:
        # a first pass for the mean feature of the original images
        center = sum(features(model, images).sum(0)
                     for images in batches(args)) / len(args.paths)
    totals = {key: torch.zeros(2, dtype=torch.float64) for key in args.maskers}
    # one generator per row: its masks do not depend on the other rows
    generators = {key: torch.Generator().manual_seed(args.seed)
                  for key in args.maskers}
    for images in batches(args):
        reference = features(model, images)
        for key, mask_reuse in args.maskers.items():
            masked, reuse, cell_mask = mask_reuse(images, generators[key])
            upsampled = resize_image(reuse, images.shape[-2:])
            similarity = cosine_similarity(features(model, upsampled),
                                           reference, center)
            gain = entropy_gain(reuse, masked, cell_mask)
            totals[key] += torch.stack([gain.sum(), similarity.sum()])
    return {key: (total / len(args.paths)).tolist()
            for key, total in totals.items()}


def make_table(means):
    """Rows of ``COLUMNS``; F uses ΔH divided by the table's largest ΔH."""
    gains = torch.tensor([gain for gain, _ in means.values()])
    similarities = torch.tensor([sim for _, sim in means.values()])
    scores = f_score(normalise_by_max(gains), similarities)
    return [
        dict(strategy=strategy, ratio=ratio, delta_H=gain, similarity=sim,
             F=float(score))
        for ((strategy, ratio), (gain, sim)), score in zip(
            means.items(), scores)
    ]


def plot(rows, path):
    """ΔH, similarity and F against the mask ratio, a line per strategy."""
    fig = Figure(figsize=(12, 3.6), dpi=100)
    axes = fig.subplots(1, 3)
    labels = ('entropy gain ΔH (bits)', 'similarity to original', 'F-score')
    for ax, column, label in zip(axes, COLUMNS[2:], labels):
        for strategy in dict.fromkeys(row['strategy'] for row in rows):
            points = [(r['ratio'], r[column]) for r in rows
                      if r['strategy'] == strategy]
            ax.plot(*zip(*points), marker='o', label=strategy)
        ax.set_xticks(sorted({row['ratio'] for row in rows}))
        ax.set_xlabel('mask ratio')
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path)


def main():
    args = parse_args()
    if args.config is None:
        print('note: no --config/--checkpoint given; features come from a '
              f'randomly initialised ResNet-18 (seed {args.seed}), so the '
              'similarity reflects a random network')
    try:
        model = build_feature_extractor(args.config, args.checkpoint,
                                        args.seed)
    except (ValueError, RuntimeError) as error:
        raise SystemExit(f'mask_strategy_stats.py: {error}')
    rows = make_table(measure(args, model))

    print(f'{len(args.paths)} images from {args.data_root}, '
          f'{args.img_size} px, grid {args.grid_size}')
    print(f'{"strategy":<10} {"ratio":>7} {"delta_H":>8} '
          f'{"similarity":>10} {"F":>6}')
    for row in rows:
        print(f'{row["strategy"]:<10} {row["ratio"]:>7.4f} '
              f'{row["delta_H"]:>8.4f} {row["similarity"]:>10.4f} '
              f'{row["F"]:>6.4f}')

    os.makedirs(args.out_dir, exist_ok=True)
    stem = osp.join(args.out_dir, NAME)
    with open(stem + '.csv', 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    feature_extractor = (dict(config=args.config, checkpoint=args.checkpoint)
                         if args.config else f'random ResNet-18, seed '
                         f'{args.seed}')
    with open(stem + '.json', 'w') as f:
        json.dump(dict(data_root=args.data_root, images=len(args.paths),
                       img_size=args.img_size, grid_size=args.grid_size,
                       feature_extractor=feature_extractor,
                       centred_cosine=not args.raw_cosine, rows=rows),
                  f, indent=2)
    plot(rows, stem + '.png')
    print(f'table and plot written to {stem}.{{csv,json,png}}')


if __name__ == '__main__':
    main()
