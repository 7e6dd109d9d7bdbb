"""Train a classifier, detector or segmentor from an OpenMMLab config.

Same flags as mmdet's ``tools/train.py``; works for mmpretrain, mmdet and
mmseg configs alike, and on machines without CUDA (gloo) as well.
"""
import argparse
import logging
import os
import os.path as osp

import torch
from mmengine.config import DictAction
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmmaskreuse.engine import (TRUST_ENV, check_dataset_paths,
                                close_distributed, checkpoint_to_resume,
                                end_with_launcher, load_config, set_work_dir,
                                setup_cpu_distributed)
from mmmaskreuse.models import check_masked_pairing


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='enable automatically scaling LR.')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='If specify checkpoint path, resume from it, while if not '
        'specify, try to auto resume from the latest checkpoint '
        'in the work directory.')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='unpickle --resume / load_from checkpoints fully. Only for '
        'files you trust: unpickling can run code. Without it, a checkpoint '
        'holding more than tensors and mmengine\'s logging types is refused')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return parser, args


def add_custom_hook(cfg, name):
    """Append ``dict(type='mmmaskreuse.<name>')`` to ``custom_hooks`` unless
    the config already holds that hook (runs of the upstream tools add it
    themselves); one the config holds is kept as configured."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(str(hook.get('type', '')).endswith(name) for hook in hooks):
        cfg.custom_hooks = hooks + [dict(type=f'mmmaskreuse.{name}')]


#: hooks every run of this tool gets: it stops at its first non-finite loss
#: term, never starts from a pretrained checkpoint that is missing or lacks
#: the weights an ``init_cfg`` loads, and refuses to train a frozen reuse
#: branch that no checkpoint filled
RUN_CHECKS = ('StopOnInvalidLossHook', 'CheckPretrainedWeightsHook',
              'CheckFrozenReuseHook')


def add_run_checks(cfg):
    """The hooks of :data:`RUN_CHECKS`."""
    for name in RUN_CHECKS:
        add_custom_hook(cfg, name)


def survive_kills(cfg):
    """mmengine's checkpoint hook and epoch loop become their crash-safe
    subclasses: a new checkpoint is complete before the oldest kept one is
    deleted, SIGTERM saves the running iteration, and ``--resume`` continues
    an epoch where that checkpoint left it, with the random states the
    checkpoint holds."""
    add_custom_hook(cfg, 'RandomStatesHook')
    checkpoint_hook = cfg.get('default_hooks', {}).get('checkpoint')
    if checkpoint_hook and checkpoint_hook.get('type') in (
            'CheckpointHook', 'mmengine.CheckpointHook'):
        checkpoint_hook.type = 'mmmaskreuse.SafeCheckpointHook'
    loop = cfg.get('train_cfg')
    if loop and loop.get('type') is None and loop.get('by_epoch'):
        loop.pop('by_epoch')  # mmengine's shorthand for the epoch loop
        loop.type = 'EpochBasedTrainLoop'
    if loop and loop.get('type') in ('EpochBasedTrainLoop',
                                     'mmengine.EpochBasedTrainLoop'):
        loop.type = 'mmmaskreuse.ResumableEpochBasedTrainLoop'


def main():
    parser, args = parse_args()
    if args.launcher == 'pytorch':
        end_with_launcher()  # torchrun's kill never reaches its ranks
    if args.trust_checkpoint:
        os.environ[TRUST_ENV] = '1'
    try:
        cfg = load_config(args.config, args.cfg_options)
        check_dataset_paths(cfg, ('train_dataloader', 'val_dataloader'))
    except FileNotFoundError as error:
        parser.error(str(error))
    cfg.launcher = args.launcher

    set_work_dir(cfg, args.work_dir, args.config)
    add_run_checks(cfg)
    survive_kills(cfg)

    if args.amp:
        if not torch.cuda.is_available():
            parser.error('--amp needs a CUDA device; this machine has none')
        optim_wrapper = cfg.optim_wrapper.type
        if optim_wrapper == 'AmpOptimWrapper':
            print_log(
                'AMP training is already enabled in your config.',
                logger='current',
                level=logging.WARNING)
        else:
            assert optim_wrapper == 'OptimWrapper', (
                '`--amp` is only supported when the optimizer wrapper type is '
                f'`OptimWrapper` but got {optim_wrapper}.')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    if args.auto_scale_lr:
        # mmpretrain's configs carry base_batch_size without an enable flag
        if 'base_batch_size' not in (cfg.get('auto_scale_lr') or {}):
            parser.error('--auto-scale-lr needs auto_scale_lr.base_batch_size '
                         f'in {args.config}')
        cfg.auto_scale_lr.enable = True

    if args.resume == 'auto':
        try:
            checkpoint, why = checkpoint_to_resume(cfg.work_dir)
        except RuntimeError as error:
            parser.error(str(error))
        print_log(why, logger='current')
        if checkpoint is not None:
            cfg.resume = True
            cfg.load_from = checkpoint
    elif args.resume is not None:
        if '://' not in args.resume and not osp.isfile(args.resume):
            parser.error(f'--resume checkpoint not found: {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume

    setup_cpu_distributed(cfg, args.launcher)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    try:
        check_masked_pairing(runner.model)
    except ValueError as error:
        parser.error(f'{args.config}: {error}')
    try:
        runner.train()
    finally:
        close_distributed()


if __name__ == '__main__':
    main()
