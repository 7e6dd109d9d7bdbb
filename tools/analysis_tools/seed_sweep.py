"""Train and test one config with several seeds; print mean +- std.

For each seed, ``tools/train.py CONFIG --work-dir WORK_DIR/seed{S}
--cfg-options randomness.seed=S [options]``, then ``tools/test.py`` on the
checkpoint it names in ``last_checkpoint``, both as a user runs them. The
metric of each test (``--metric``, the last value printed) goes to
``WORK_DIR/sweep.json`` with its mean and sample standard deviation; the
last line reads::

    <metric>: <mean> +- <std> over seeds <s1> <s2> ... (<v1> <v2> ...)

Examples:
    # the toy A/B of the residual fusion, 3 seeds
    python tools/analysis_tools/seed_sweep.py \\
        configs/maskanynet/toy/resnet18_toy_cls.py --seeds 0 1 2 \\
        --work-dir work_dirs/sweeps/residual \\
        --cfg-options model.backbone.fusion=residual

    # the same sweep, continued after an interruption
    python tools/analysis_tools/seed_sweep.py \\
        configs/maskanynet/toy/resnet18_toy_cls.py --seeds 0 1 2 \\
        --work-dir work_dirs/sweeps/residual --resume \\
        --cfg-options model.backbone.fusion=residual
"""
import argparse
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys

TOOLS = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train and test a config with several seeds')
    parser.add_argument('config', help='config file')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2],
                        help='seeds, one run each (default: 0 1 2)')
    parser.add_argument('--work-dir', required=True,
                        help='folder of the runs (seed{S} below it) and of '
                        'sweep.json')
    parser.add_argument('--metric', default='accuracy/top1',
                        help='metric test.py prints (default: accuracy/top1)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='train.py options for every seed (key=value)')
    parser.add_argument('--resume', action='store_true',
                        help='continue a sweep a stop cut short: each '
                        'seed\'s train.py runs with --resume (from its '
                        'newest complete checkpoint; a finished run only '
                        'tests again, a seed not started trains anew)')
    args = parser.parse_args(argv)
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds repeats a seed: {args.seeds}')
    return args


def run(args, cwd=None):
    """``python tools/<args>`` (``PYTHON`` picks the interpreter); its
    output, or an error with its tail."""
    command = [os.environ.get('PYTHON', sys.executable),
               osp.join(TOOLS, args[0]), *args[1:]]
    proc = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(command)} failed ({proc.returncode}):'
                           f'\n{proc.stdout[-3000:]}')
    return proc.stdout


def last_value(log: str, metric: str) -> float:
    values = re.findall(re.escape(metric) + r': (-?[0-9.]+)', log)
    if not values:
        raise RuntimeError(f'test.py printed no {metric}:\n{log[-2000:]}')
    return float(values[-1])


def main(argv=None):
    args = parse_args(argv)
    results = {}
    for seed in args.seeds:
        work_dir = osp.join(args.work_dir, f'seed{seed}')
        run(['train.py', args.config, '--work-dir', work_dir,
             *(['--resume'] if args.resume else []), '--cfg-options',
             f'randomness.seed={seed}', *args.cfg_options])
        with open(osp.join(work_dir, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
        options = ['--cfg-options', *args.cfg_options] if (
            args.cfg_options) else []
        log = run(['test.py', args.config, checkpoint, '--work-dir',
                   work_dir, *options])
        results[seed] = last_value(log, args.metric)
        print(f'seed {seed}: {args.metric} {results[seed]}', flush=True)
    values = list(results.values())
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    summary = dict(config=args.config, cfg_options=args.cfg_options,
                   metric=args.metric, values=results,
                   mean=statistics.mean(values), std=std)
    with open(osp.join(args.work_dir, 'sweep.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print(f'{args.metric}: {summary["mean"]:.2f} +- {std:.2f} over seeds '
          f'{" ".join(map(str, results))} '
          f'({" ".join(f"{v:.2f}" for v in values)})')


if __name__ == '__main__':
    main()
