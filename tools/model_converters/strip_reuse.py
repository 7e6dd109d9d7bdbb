"""Strip the reuse branch of a MaskAnyNet checkpoint: the plain upstream
model (mmpretrain classifier, mmdet detector, mmseg segmentor) for
deployment.

Writes OUT, a checkpoint of the plain model, and its config (OUT with a
``.py`` suffix unless ``--out-config``), which load and run in mmpretrain,
mmdet or mmseg with no ``mmmaskreuse`` import. Its outputs are those of the
MaskAnyNet model tested with ``model.backbone.reuse_at_test=drop``. Only the
``residual`` and ``add`` fusions can be stripped exactly; the others are
refused with the reason. Stripping a model trained without reuse dropout
(``model.backbone.reuse_drop_prob``) works, but the plain model is then one
it never trained as: a warning says so.

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
                        help='overrides of CONFIG, as in tools/train.py')
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
        plain_cfg, checkpoint = strip_reuse(
            cfg, load_from_local(args.checkpoint, map_location='cpu'))
    except ValueError as error:
        raise SystemExit(f'strip_reuse.py: {error}')
    if checkpoint['meta']['stripped_reuse']['reuse_drop_prob'] == 0:
        print('warning: the model trained without reuse dropout '
              '(reuse_drop_prob=0): the plain model is exactly the '
              'MaskAnyNet model with the branch dropped, which it never '
              'trained as; expect lower accuracy than with the branch')
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
