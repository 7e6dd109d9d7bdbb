"""Per-shot reconstruction losses of Conditional MAE runs, against the
iteration (the paper's Fig. 7).

Reads each run's scalar log (``vis_data/scalars.json``, which mmengine's
``LocalVisBackend`` writes; given a work dir, the newest run in it) and
plots ``loss`` and every ``rec_shot<k>`` it logged, one panel per key, one
line per run. Writes ``shot_losses.png`` and ``shot_losses.json`` (per run:
the iterations and the values of each key) to ``--out-dir``.

Example::

    python tools/analysis_tools/plot_shot_losses.py \\
        work_dirs/conditional_mae/vit-b16_L0_in1k_pretrain \\
        work_dirs/conditional_mae/vit-b16_L0-10_in1k_pretrain \\
        --labels MAE C-MAE
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
from typing import Dict, List

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

SHOT_KEY = re.compile(r'^rec_shot(\d+)$')


def scalar_log(path: str) -> str:
    """``path`` itself if a file, else the newest
    ``<path>/<timestamp>/vis_data/scalars.json``."""
    if osp.isfile(path):
        return path
    found = sorted(glob.glob(osp.join(path, '*', 'vis_data',
                                      'scalars.json')))
    if not found:
        raise FileNotFoundError(
            f'no scalar log: {path} is not a file and holds no '
            '*/vis_data/scalars.json (runs log there with mmengine\'s '
            'LocalVisBackend)')
    return found[-1]


def read_losses(path: str) -> Dict[str, Dict[str, List[float]]]:
    """``{key: {'step': [...], 'value': [...]}}`` for ``loss`` and each
    ``rec_shot<k>`` of the training lines of a scalars.json."""
    curves: Dict[str, Dict[str, List[float]]] = {}
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            for key, value in record.items():
                if key == 'loss' or SHOT_KEY.match(key):
                    curve = curves.setdefault(key, dict(step=[], value=[]))
                    curve['step'].append(record['step'])
                    curve['value'].append(float(value))
    if not any(SHOT_KEY.match(key) for key in curves):
        raise ValueError(f'{path} logs no rec_shot<k>: not a Conditional '
                         'MAE run')
    return curves


def shot_order(key: str):
    match = SHOT_KEY.match(key)
    return (1, int(match.group(1))) if match else (0, 0)


def main():
    parser = argparse.ArgumentParser(
        description='Per-shot losses of Conditional MAE runs')
    parser.add_argument('runs', nargs='+',
                        help='work dirs or scalars.json files')
    parser.add_argument('--labels', nargs='+',
                        help='one name per run (default: the paths)')
    parser.add_argument('--out-dir', default='work_dirs/shot_losses')
    args = parser.parse_args()
    labels = args.labels or args.runs
    if len(labels) != len(args.runs):
        parser.error(f'--labels: {len(labels)} names for {len(args.runs)} '
                     'runs')
    results = {}
    for label, run in zip(labels, args.runs):
        try:
            log = scalar_log(run)
            results[label] = dict(log=log, curves=read_losses(log))
        except (FileNotFoundError, ValueError) as error:
            parser.error(str(error))
    keys = sorted({k for r in results.values() for k in r['curves']},
                  key=shot_order)
    figure, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.4),
                                squeeze=False)
    for axis, key in zip(axes[0], keys):
        for index, (label, result) in enumerate(results.items()):
            curve = result['curves'].get(key)
            if curve:
                axis.plot(curve['step'], curve['value'], color=f'C{index}',
                          label=label)
        axis.set_title(key)
        axis.set_xlabel('iteration')
    axes[0][0].legend()
    figure.tight_layout()
    os.makedirs(args.out_dir, exist_ok=True)
    figure.savefig(osp.join(args.out_dir, 'shot_losses.png'), dpi=120)
    with open(osp.join(args.out_dir, 'shot_losses.json'), 'w') as f:
        json.dump(results, f, indent=1)
    for label, result in results.items():
        last = ', '.join(f'{key} {result["curves"][key]["value"][-1]:.4f}'
                         for key in keys if key in result['curves'])
        print(f'{label}: {result["log"]}: last {last}')
    print(f'wrote {args.out_dir}/shot_losses.png and shot_losses.json')


if __name__ == '__main__':
    main()
