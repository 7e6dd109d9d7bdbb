"""Compare the step time and peak memory of two configs in one run.

Both models are built from their configs and stepped in turns on the same
synthetic batch (see :mod:`mmmaskreuse.analysis.speed`); the median step
time of CONFIG over that of --baseline is the ratio. Peak memory is measured
for each alone, in a fresh process, first. Then a masking micro-benchmark times
batched masking (CONFIG's own masking if it has one) against the per-image
numpy reference. The last line reads::

    ratio=<median A/B> peak_mem_a=<MiB> peak_mem_b=<MiB>

Examples:
    # MaskAnyNet ResNet-50 against ResNet-50, train steps on 64 images
    python tools/analysis_tools/compare_speed.py \\
        configs/maskanynet/resnet50_imagenet.py \\
        --baseline configs/baselines/resnet50_imagenet.py \\
        --mode train --batch-size 64 --iters 30

    # a fusion variant: options apply to CONFIG only
    python tools/analysis_tools/compare_speed.py \\
        configs/maskanynet/resnet50_imagenet.py \\
        --baseline configs/baselines/resnet50_imagenet.py \\
        --cfg-options model.backbone.fusion=add
"""
import argparse
import os.path as osp
import statistics

import torch
from mmengine.config import DictAction

from mmmaskreuse.analysis.speed import (benchmark_masking, build_step,
                                        peak_memory, synthetic_batch,
                                        time_alternating)
from mmmaskreuse.engine import build_model, load_config
from mmmaskreuse.models import check_masked_pairing

MiB = 2**20


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config A, e.g. a MaskAnyNet one')
    parser.add_argument('--baseline', required=True,
                        help='config B, e.g. its vanilla twin')
    parser.add_argument('--mode', choices=('train', 'test'), default='train',
                        help='train: train_step (forward, loss, backward, '
                        'optimizer); test: test_step without gradients')
    parser.add_argument('--batch-size', type=int, default=None,
                        help="images per step (default: CONFIG's per-GPU "
                        'train or val batch size, as --mode)')
    parser.add_argument('--shape', type=int, nargs='+', default=[224],
                        help='image size H [W] of the synthetic batch')
    parser.add_argument('--iters', type=int, default=20,
                        help='timed steps of each model')
    parser.add_argument('--warmup', type=int, default=5,
                        help='untimed steps of each model first')
    parser.add_argument('--device', default=None,
                        help='cuda or cpu (default: cuda if available)')
    parser.add_argument('--masking-batch-size', type=int, default=64,
                        help='images of the masking micro-benchmark '
                        '(0 skips it)')
    parser.add_argument('--no-memory', action='store_true',
                        help='skip the peak memory runs (prints 0)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides of CONFIG (not of --baseline)')
    parser.add_argument('--baseline-cfg-options', nargs='+',
                        action=DictAction, help='overrides of --baseline')
    args = parser.parse_args()
    for path in (args.config, args.baseline):
        if not osp.isfile(path):
            parser.error(f'config file not found: {path}')
    if len(args.shape) not in (1, 2) or min(args.shape) < 1:
        parser.error(f'--shape takes H or H W (positive), got {args.shape}')
    args.shape = (args.shape[0], args.shape[-1])
    for flag in ('batch_size', 'iters'):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            parser.error(f'--{flag.replace("_", "-")} must be >= 1, got '
                         f'{getattr(args, flag)}')
    if args.device is None:
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        parser.error(f'--device {args.device}: CUDA is not available')
    return args


def main():
    args = parse_args()
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    if args.batch_size is None:
        loader = 'train_dataloader' if args.mode == 'train' else \
            'val_dataloader'
        # the batch of config A as the user set it (--cfg-options included)
        cfg = load_config(args.config, args.cfg_options)
        args.batch_size = cfg.get(loader, {}).get('batch_size', 32)
    runs = []
    for path, options in ((args.config, args.cfg_options),
                          (args.baseline, args.baseline_cfg_options)):
        # each alone in a fresh process, before this one holds any model,
        # so that both fit in memory beside it
        peak = 0 if args.no_memory else peak_memory(
            path, options, args.mode, args.batch_size, args.shape,
            args.device, seed=args.seed) / MiB
        runs.append(dict(path=path, options=options, peak=peak))
    for run in runs:
        cfg = load_config(run['path'], run['options'])
        model = build_model(cfg, init_weights=True).to(device)
        check_masked_pairing(model)
        # one batch for both: same seed, same images and ground truth
        data = synthetic_batch(model, args.batch_size, args.shape, args.seed,
                               device)
        step = build_step(model, cfg, args.mode)
        run.update(model=model, step=lambda step=step, data=data: step(data))

    print(f'compare_speed: mode={args.mode} device={device} batch='
          f'{args.batch_size} shape={args.shape[0]}x{args.shape[1]} '
          f'iters={args.iters} (after {args.warmup} warm-up)')
    timings = time_alternating([run['step'] for run in runs], args.iters,
                               args.warmup, device)
    for run, times in zip(runs, timings):
        run['median'] = statistics.median(times)
        run['params'] = sum(p.numel() for p in run['model'].parameters())
    masking = getattr(runs[0]['model'].data_preprocessor, 'mask_reuse',
                      None)

    for name, run in zip('AB', runs):
        print(f'{name}: {run["path"]}: {run["params"] / 1e6:.2f} M params, '
              f'median step {run["median"] * 1e3:.1f} ms, peak memory '
              f'{run["peak"]:.0f} MiB')
    if args.masking_batch_size > 0:
        # the numpy reference needs whole cells: a detection size such as
        # 800x1333 is cropped to the grid (800x1328 on 8x8 cells)
        grid = masking.mask_generator.grid_size if masking else (8, 8)
        shape = [
            side // cells * cells for side, cells in zip(args.shape, grid)
        ]
        seconds = benchmark_masking(masking, args.masking_batch_size, shape,
                                    device, seed=args.seed)
        what = masking.mask_generator if masking else 'CombinedMask (25 %)'
        print(f'masking {args.masking_batch_size}x3x{shape[0]}x'
              f'{shape[1]} with {what}: batched on {device} '
              f'{seconds["batched"] * 1e3:.2f} ms, per-image numpy '
              f'reference {seconds["reference"] * 1e3:.2f} ms, speed-up '
              f'{seconds["speedup"]:.1f}x (batched: '
              f'{seconds["operators"]} torch operators per call)')
    ratio = runs[0]['median'] / runs[1]['median']
    print(f'ratio={ratio:.3f} peak_mem_a={runs[0]["peak"]:.1f} '
          f'peak_mem_b={runs[1]["peak"]:.1f}')


if __name__ == '__main__':
    main()
