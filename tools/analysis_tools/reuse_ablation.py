"""Does a MaskAnyNet classifier use its reuse branch?

Scores the config's test set (its first ``--num-images``) three times,
changing only what the auxiliary branch sees: the image downsampled to the
reuse size (what the model was built for), a zero image (the mean colour
after normalisation) and the downsampled image of another sample of the
batch, one of another label (the test set shuffled from a fixed seed, so
that batches mix labels). A branch that contributes nothing leaves the
top-1 unchanged (one of MaskAnyNet's failure signatures); one the model
relies on costs accuracy when it is fed zeros or another image. Each row is
a ``tools/test.py CONFIG CKPT --cfg-options ...`` run:

- downsample, zeros: ``model.backbone.reuse_at_test=X``;
- other_image: ``data_preprocessor.other_image_at_test=True
  test_dataloader.sampler.shuffle=True test_dataloader.sampler.seed=0``
  (``model.data_preprocessor...`` where the model sets its own).

As in ``tools/test.py``, a checkpoint that does not fit the config is
refused.

Prints the table and writes ``reuse_ablation.json`` and
``reuse_ablation.png`` to ``--out-dir``.

Example::

    python tools/analysis_tools/reuse_ablation.py \\
        configs/maskanynet/resnet50_imagenet.py maskanynet_r50.pth \\
        --num-images 5000
"""
import argparse
import json
import os
import os.path as osp

import matplotlib

from mmmaskreuse.analysis import evaluate_top1, other_image_options

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

SETTINGS = ('downsample', 'zeros', 'other_image')


def parse_args():
    parser = argparse.ArgumentParser(
        description='Top-1 of a MaskAnyNet classifier with its reuse branch '
        'fed the downsampled image, zeros or another image')
    parser.add_argument('config', help='a MaskAnyNet classification config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', default='work_dirs/reuse_ablation')
    parser.add_argument('--num-images', type=int,
                        help='test on the first N images (default: all)')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    args = parser.parse_args()
    for path, what in ((args.config, 'config'),
                       (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            parser.error(f'{what} not found: {path}')
    if args.num_images is not None and args.num_images < 2:
        parser.error('--num-images must be >= 2 (another image of the '
                     f'batch), got {args.num_images}')
    return parser, args


def check_maskanynet(parser, config):
    """The parser's error unless ``config``'s backbone has a reuse
    branch; else the loaded config."""
    from mmengine.registry import DefaultScope

    from mmmaskreuse.engine import load_config
    from mmmaskreuse.models.backbones.maskanynet_base import MaskAnyNetMixin
    from mmmaskreuse.registry import MODELS
    cfg = load_config(config)
    kind = cfg.model.backbone.get('type')
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        backbone = MODELS.get(kind) if isinstance(kind, str) else kind
    if not (isinstance(backbone, type)
            and issubclass(backbone, MaskAnyNetMixin)):
        parser.error(f'{config}: backbone {kind} has no reuse branch; '
                     'use a MaskAnyNet config (mmmaskreuse.Mask* backbone)')
    return cfg


def setting_options(cfg, setting):
    """The ``--cfg-options`` of one row."""
    if setting == 'other_image':
        return other_image_options(cfg)
    return {'model.backbone.reuse_at_test': setting}


def main():
    parser, args = parse_args()
    cfg = check_maskanynet(parser, args.config)
    try:
        top1 = {
            setting: evaluate_top1(args.config, args.checkpoint,
                                   setting_options(cfg, setting),
                                   args.num_images, args.device)
            for setting in SETTINGS
        }
    except (ValueError, RuntimeError) as error:
        # a checkpoint that does not fit its config, both named
        parser.error(str(error))
    drops = {s: top1['downsample'] - top1[s] for s in SETTINGS[1:]}
    os.makedirs(args.out_dir, exist_ok=True)
    with open(osp.join(args.out_dir, 'reuse_ablation.json'), 'w') as f:
        json.dump(dict(top1=top1, drop=drops, num_images=args.num_images), f,
                  indent=1)
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar(SETTINGS, [top1[s] for s in SETTINGS],
           color=['tab:blue', 'tab:grey', 'tab:orange'])
    ax.set_ylabel('top-1 (%)')
    ax.set_title('what the reuse branch sees', fontsize='medium')
    fig.tight_layout()
    fig.savefig(osp.join(args.out_dir, 'reuse_ablation.png'), dpi=120)
    plt.close(fig)
    print(f'\n{"reuse branch sees":20s}{"top-1":>8s}{"drop":>8s}')
    for setting in SETTINGS:
        drop = drops.get(setting, 0.)
        print(f'{setting:20s}{top1[setting]:8.2f}{drop:8.2f}')
    print(f'written to {args.out_dir}')


if __name__ == '__main__':
    main()
