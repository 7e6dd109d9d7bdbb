"""Test a classifier, detector or segmentor and print its metrics.

Same flags as mmdet's ``tools/test.py``. ``--out`` dumps the predictions to a
pickle for every task; ``--show-dir`` draws them with the visualization hook
of the config's own library (mmdet, mmseg or mmpretrain).

A checkpoint that does not fit the config is refused, naming both and the
weights: one that lacks some of the model's weights, holds some of another
shape (a head for another number of classes) or holds weights the model has
no entry for (a MaskAnyNet checkpoint on its vanilla twin's config, whose
reuse branch would be ignored). ``--allow-partial`` tests it anyway.
"""
import argparse
import os
import os.path as osp

from mmengine.config import ConfigDict, DictAction
from mmengine.evaluator import DumpResults
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmmaskreuse.engine import (TRUST_ENV, check_dataset_paths,
                                close_distributed,
                                load_config, set_work_dir,
                                setup_cpu_distributed, weight_mismatch)
from mmmaskreuse.models import check_masked_pairing


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the directory to save the file containing evaluation metrics')
    parser.add_argument(
        '--out',
        type=str,
        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images will be saved. '
        'If specified, it will be automatically saved '
        'to the work_dir/timestamp/show_dir')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
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
    parser.add_argument('--tta', action='store_true')
    parser.add_argument(
        '--allow-partial',
        action='store_true',
        help='test even if the checkpoint does not fit the config: it '
        'lacks some of the model\'s weights or holds some of another shape '
        '(they keep their initialisation), or holds weights the model has '
        'no entry for (ignored)')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='unpickle the checkpoint fully. Only for files you trust: '
        'unpickling can run code. Without it, a checkpoint holding more '
        'than tensors and mmengine\'s logging types is refused')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return parser, args


def trigger_visualization_hook(cfg, args):
    """Switch on the config's visualization hook, whichever library's it is.

    mmdet's hook writes to ``work_dir/timestamp/show_dir`` (an absolute
    ``show_dir`` is used as is), mmseg's to ``show_dir/vis_data/vis_image``
    and mmpretrain's to ``show_dir``; every test image is drawn.
    """
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise RuntimeError(
            'VisualizationHook must be included in default_hooks; '
            'refer to the usage "visualization=dict(type=...)" in '
            'mmdet/mmseg/mmpretrain default_runtime.py')
    hook.show = args.show
    hook.wait_time = args.wait_time
    scope = cfg.get('default_scope')
    if scope == 'mmpretrain':
        hook.enable = True
        hook.interval = 1
        hook.out_dir = args.show_dir
        return
    hook.draw = True
    if scope == 'mmdet':
        hook.test_out_dir = args.show_dir
    else:  # mmseg and scopes whose visualizer writes through its backends
        hook.interval = 1
        if args.show_dir:
            cfg.visualizer.save_dir = args.show_dir


def dump_metric(cfg, out):
    """The metric that pickles the predictions of ``cfg``'s task to ``out``."""
    if cfg.get('default_scope') == 'mmdet':
        # mmdet's dumper converts masks to RLE, as its analysis tools expect
        from mmdet.evaluation import DumpDetResults
        return DumpDetResults(out_file_path=out)
    return DumpResults(out_file_path=out)


def main():
    parser, args = parse_args()
    if args.trust_checkpoint:
        os.environ[TRUST_ENV] = '1'
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out must be a .pkl or .pickle file, got {args.out}')
    # a URL (http://, torchvision://, ...) is mmengine's loaders' to read
    if '://' not in args.checkpoint and not osp.isfile(args.checkpoint):
        parser.error(f'checkpoint not found: {args.checkpoint}')
    try:
        cfg = load_config(args.config, args.cfg_options)
        check_dataset_paths(cfg, ('test_dataloader', ))
    except FileNotFoundError as error:
        parser.error(str(error))
    cfg.launcher = args.launcher

    set_work_dir(cfg, args.work_dir, args.config)
    cfg.load_from = args.checkpoint

    if args.show or args.show_dir:
        trigger_visualization_hook(cfg, args)

    if args.tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            parser.error(f'--tta needs tta_model and tta_pipeline in '
                         f'{args.config}')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = ConfigDict(cfg.tta_model)

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
        mismatch = weight_mismatch(runner.model, args.checkpoint)
    except RuntimeError as error:  # refused by the safe loader
        parser.error(str(error))
    if mismatch and not args.allow_partial:
        parser.error(
            f'{mismatch.describe(args.checkpoint, args.config)}: the test '
            'would score weights that were never trained, or ignore trained '
            'ones. Pass --allow-partial to test it anyway.')

    if args.out is not None:
        runner.test_evaluator.metrics.append(dump_metric(cfg, args.out))
    runner.test()
    close_distributed()


if __name__ == '__main__':
    main()
