"""Top-1 of classifiers on clean, occluded and shuffled test images.

The table of the Conditional MAE paper's Tab. 9: for each ``CONFIG
CHECKPOINT`` pair (the checkpoint must fit the config, as for
``tools/test.py``: a checkpoint of another model is refused, naming both),
the test set of the config (its first ``--num-images``)
scored clean, with a random half of its 16-pixel patches set to the mean
colour (after normalisation), and with its patches shuffled. Each image
is corrupted from its own seed (``--seed`` plus its index), so every model
sees the same corrupted images. Any row can be checked with the test
tool, e.g. the occluded column of a MaskAnyNet or plain mmpretrain
config::

    python tools/test.py CONFIG CKPT --cfg-options \\
        data_preprocessor.type=mmmaskreuse.CorruptedClsDataPreprocessor \\
        data_preprocessor.test_corruption.type=occlude

(MaskAnyNet's preprocessor keeps its type; ``model.data_preprocessor``
where the config sets it on the model.)

Prints the table and writes ``robustness.json``, ``robustness.csv`` and
``robustness.png`` (grouped bars) to ``--out-dir``.

Example::

    python tools/analysis_tools/robustness.py \\
        configs/conditional_mae/vit-b16_in1k_finetune.py mae_ft.pth \\
        configs/conditional_mae/vit-b16_in1k_finetune.py cmae_ft.pth \\
        --labels MAE C-MAE --num-images 5000
"""
import argparse
import csv
import json
import os
import os.path as osp

import matplotlib

from mmmaskreuse.analysis import (add_model_pairs, check_model_pairs,
                                  corruption_options, evaluate_top1)

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

CONDITIONS = ('clean', 'occluded', 'shuffled')


def parse_args():
    parser = argparse.ArgumentParser(
        description='Top-1 on clean, occluded and shuffled test images')
    add_model_pairs(parser)
    parser.add_argument('--out-dir', default='work_dirs/robustness')
    parser.add_argument('--num-images', type=int,
                        help='test on the first N images (default: all)')
    parser.add_argument('--patch-size', type=int, default=16)
    parser.add_argument('--ratio', type=float, default=0.5,
                        help='fraction of the patches occluded')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    args = parser.parse_args()
    check_model_pairs(parser, args)
    if args.num_images is not None and args.num_images < 1:
        parser.error(f'--num-images must be >= 1, got {args.num_images}')
    if not 0 < args.ratio <= 1:
        parser.error(f'--ratio must be in (0, 1], got {args.ratio}')
    return parser, args


def condition_options(parser, config, args):
    """The overrides of each condition for ``config``."""
    from mmmaskreuse.engine import load_config
    cfg = load_config(config)
    options = {'clean': {}}
    for name, kind in (('occluded', 'occlude'), ('shuffled', 'shuffle')):
        corruption = dict(type=kind, patch_size=args.patch_size,
                          ratio=args.ratio, seed=args.seed)
        try:
            options[name] = corruption_options(cfg, corruption)
        except ValueError as error:
            parser.error(f'{config}: {error}')
    return options


def plot(table, labels, path):
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(labels), 3.2))
    width = 0.8 / len(CONDITIONS)
    for k, condition in enumerate(CONDITIONS):
        xs = [i + (k - 1) * width for i in range(len(labels))]
        ax.bar(xs, [table[label][condition] for label in labels], width,
               label=condition)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel('top-1 (%)')
    ax.legend(fontsize='small')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main():
    parser, args = parse_args()
    table = {}
    for label, (config, checkpoint) in zip(args.labels, args.models):
        options = condition_options(parser, config, args)
        try:
            table[label] = {
                condition: evaluate_top1(config, checkpoint,
                                         options[condition], args.num_images,
                                         args.device)
                for condition in CONDITIONS
            }
        except (ValueError, RuntimeError) as error:
            # a checkpoint that does not fit its config, both named
            parser.error(str(error))
    os.makedirs(args.out_dir, exist_ok=True)
    settings = dict(patch_size=args.patch_size, ratio=args.ratio,
                    seed=args.seed, num_images=args.num_images)
    with open(osp.join(args.out_dir, 'robustness.json'), 'w') as f:
        json.dump(dict(settings=settings, top1=table), f, indent=1)
    with open(osp.join(args.out_dir, 'robustness.csv'), 'w',
              newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['model', *CONDITIONS])
        for label in args.labels:
            writer.writerow([label] +
                            [f'{table[label][c]:.2f}' for c in CONDITIONS])
    plot(table, args.labels, osp.join(args.out_dir, 'robustness.png'))
    print(f'\n{"model":24s}' + ''.join(f'{c:>10s}' for c in CONDITIONS))
    for label in args.labels:
        print(f'{label:24s}' +
              ''.join(f'{table[label][c]:10.2f}' for c in CONDITIONS))
    print(f'written to {args.out_dir}')


if __name__ == '__main__':
    main()
