"""Strip the reuse branch of a MaskAnyNet checkpoint: the plain upstream
model (mmpretrain classifier, mmdet detector, mmseg segmentor) for
deployment.

Writes OUT, a checkpoint of the plain model, and its config (OUT with a
``.py`` suffix unless ``--out-config``), which load and run in mmpretrain,
mmdet or mmseg with no ``mmmaskreuse`` import. Its outputs are those of the
MaskAnyNet model tested with ``model.backbone.reuse_at_test=drop``. Only the
``residual`` and ``add`` fusions can be stripped exactly; the others are
refused with the reason.

The checkpoint's training config (``meta['cfg']``, saved by every
``tools/train.py`` run) decides, not CONFIG and its ``--cfg-options``: a
backbone type, ``fusion``, ``mask_ratio`` or ``reuse_drop_prob`` that
differs from the one it trained with is refused, naming both values (a
``concat`` checkpoint has the same weights as a ``residual`` one; stripped
as ``residual`` it would score chance). A checkpoint without a training
config (a bare state dict) is stripped as CONFIG says, with a warning.

A model trained without reuse dropout (``reuse_drop_prob=0``) never ran
as the plain model, which scores what ``reuse_at_test=drop`` scores, often
far below the model with its branch: it is refused unless
``--force-untrained-drop`` (then stripped with a warning).

Example::

    python tools/model_converters/strip_reuse.py \\
        configs/maskanynet/toy/resnet18_toy_cls.py \\
        work_dirs/dropout/epoch_6.pth work_dirs/dropout/plain.pth \\
        --cfg-options model.backbone.fusion=residual \\
        model.backbone.reuse_drop_prob=0.5
    # then, in mmpretrain alone:
    python mmpretrain/tools/test.py work_dirs/dropout/plain.py \\
        work_dirs/dropout/plain.pth
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction
from mmengine.fileio import put_text
from mmengine.runner import save_checkpoint

from mmmaskreuse.engine import load_config
from mmmaskreuse.engine.checkpoint import load_from_local
from mmmaskreuse.models.strip import check_strippable, strip_reuse


def parse_args():
    parser = argparse.ArgumentParser(
        description='Strip the reuse branch of a MaskAnyNet checkpoint: '
        'a plain upstream checkpoint and config')
    parser.add_argument('config', help='the MaskAnyNet config it trained '
                        'with')
    parser.add_argument('checkpoint', help='the MaskAnyNet checkpoint')
    parser.add_argument('out', help='the plain checkpoint to write (.pth)')
    parser.add_argument('--out-config', help='the plain config to write '
                        '(default: OUT with a .py suffix)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides of CONFIG, as in tools/train.py; '
                        'they must agree with the config the checkpoint '
                        'trained with')
    parser.add_argument('--force-untrained-drop', action='store_true',
                        help='strip a model that trained without reuse '
                        'dropout (reuse_drop_prob=0): it never ran as the '
                        'plain model, which may score far below it')
    args = parser.parse_args()
    for path, what in ((args.config, 'config'),
                       (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            parser.error(f'{what} not found: {path}')
    if args.out_config is None:
        args.out_config = osp.splitext(args.out)[0] + '.py'
    if not args.out_config.endswith('.py'):
        parser.error(f'--out-config must end in .py, got {args.out_config}')
    if osp.abspath(args.out) in (osp.abspath(args.checkpoint),
                                 osp.abspath(args.out_config)):
        parser.error(f'OUT {args.out} would overwrite an input or the '
                     'config')
    return args


def main():
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    try:
        check_strippable(cfg)  # before reading a checkpoint in vain
    except ValueError as error:
        raise SystemExit(f'strip_reuse.py: {error}')
    try:
        plain_cfg, checkpoint = strip_reuse(
            cfg, load_from_local(args.checkpoint, map_location='cpu'),
            force_untrained_drop=args.force_untrained_drop)
    except ValueError as error:
        raise SystemExit(f'strip_reuse.py: {args.checkpoint}: {error}')
    stripped = checkpoint['meta']['stripped_reuse']
    if not stripped['trained_config_checked']:
        print(f'warning: {args.checkpoint} holds no training config '
              "(meta['cfg']): stripped as CONFIG says (fusion="
              f"{stripped['fusion']!r}, reuse_drop_prob="
              f"{stripped['reuse_drop_prob']}), unchecked")
    if stripped['reuse_drop_prob'] == 0:
        print('warning: the model trained without reuse dropout '
              '(reuse_drop_prob=0), stripped as --force-untrained-drop '
              'asks: the plain model is exactly the MaskAnyNet model with '
              'the branch dropped, which it never trained as; expect lower '
              'accuracy than with the branch')
    for path in (args.out, args.out_config):
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    # mmengine's local backend, which mmmaskreuse makes atomic: a kill or a
    # full disk leaves the old file or none, never a truncated one
    save_checkpoint(checkpoint, args.out)
    put_text(plain_cfg.pretty_text, args.out_config)
    n = sum(v.numel() for v in checkpoint['state_dict'].values())
    print(f'plain checkpoint: {args.out} ({n / 1e6:.2f} M weights); '
          f'config: {args.out_config}')


if __name__ == '__main__':
    main()
