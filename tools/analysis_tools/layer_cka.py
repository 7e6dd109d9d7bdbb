"""Layer-by-layer CKA between two ViT checkpoints.

Both backbones (each checkpoint must fit its config, as for
``tools/test.py``) run on the same ``--num-images`` images of ``--img-dir``
(a seeded pick, made into inputs by each config's test pipeline and its
model's data preprocessor, as ``tools/test.py`` makes them; a pretrain
config without one: resized and centre-cropped to the ViT's input size),
nothing masked; the output tokens of every block (class token included,
flattened) are compared with linear CKA, its unbiased HSIC accumulated
over minibatches (Nguyen, Raghu and Kornblith, 2021), as the Conditional
MAE paper's Fig. 4 and 15. A model compared with itself gives 1 on the
diagonal.

Writes ``cka.json`` (the matrix, rows: layers of A, columns: layers of B)
and ``cka.png`` (its heatmap) to ``--out-dir``.

Example::

    python tools/analysis_tools/layer_cka.py \\
        configs/conditional_mae/vit-b16_L0_in1k_pretrain.py mae.pth \\
        configs/conditional_mae/vit-b16_L0-10_in1k_pretrain.py cmae.pth \\
        --labels MAE C-MAE --img-dir data/imagenet/val --num-images 1024
"""
import argparse
import json
import os
import os.path as osp

import matplotlib
import torch
from mmengine.utils import ProgressBar

from mmmaskreuse.analysis import (MinibatchCKA, add_image_arguments,
                                  load_vit, normalised_batches,
                                  picked_images, recording_outputs,
                                  run_backbone)

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(
        description='Layer-by-layer CKA between two ViT checkpoints')
    parser.add_argument('config_a')
    parser.add_argument('checkpoint_a')
    parser.add_argument('config_b')
    parser.add_argument('checkpoint_b')
    parser.add_argument('--labels', nargs=2, default=['A', 'B'],
                        help='names of the two models (default: A B)')
    parser.add_argument('--out-dir', default='work_dirs/layer_cka')
    add_image_arguments(parser, num_images=256, batch_size=32)
    args = parser.parse_args()
    if args.batch_size < 4:
        parser.error('--batch-size (the HSIC minibatch) must be >= 4, got '
                     f'{args.batch_size}')
    if args.num_images < args.batch_size:
        parser.error(f'--num-images ({args.num_images}) must be at least '
                     f'--batch-size ({args.batch_size})')
    return parser, args


@torch.no_grad()
def layer_cka(models, paths, batch_size, device):
    """CKA [layers of A, layers of B]; a last batch under 4 images is left
    out (the estimator needs 4)."""
    usable = len(paths) - len(paths) % batch_size
    if len(paths) % batch_size >= 4:
        usable = len(paths)
    paths = paths[:usable]
    meter = MinibatchCKA(*(len(m.backbone.layers) for m in models))
    streams = [
        normalised_batches(m, paths, batch_size, device)
        for m in models
    ]
    progress = ProgressBar(len(paths))
    for inputs_a, inputs_b in zip(*streams):
        features = []
        for model, inputs in zip(models, (inputs_a, inputs_b)):
            with recording_outputs(model.backbone.layers) as outputs:
                run_backbone(model.backbone, inputs)
            features.append([output[0] for output in outputs])
        meter.update(*features)
        for _ in inputs_a:
            progress.update()
    print()
    return meter.compute(), len(paths)


def plot(matrix: torch.Tensor, labels, path: str) -> None:
    figure, axis = plt.subplots(figsize=(5, 4.2))
    image = axis.imshow(matrix.numpy(), origin='lower', vmin=0, vmax=1,
                        cmap='magma')
    axis.set_ylabel(f'{labels[0]}: layer')
    axis.set_xlabel(f'{labels[1]}: layer')
    axis.set_yticks(range(matrix.shape[0]),
                    [str(i) for i in range(1, matrix.shape[0] + 1)])
    axis.set_xticks(range(matrix.shape[1]),
                    [str(i) for i in range(1, matrix.shape[1] + 1)])
    figure.colorbar(image, ax=axis, label='linear CKA')
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main():
    parser, args = parse_args()
    paths = picked_images(parser, args)
    models = [
        load_vit(parser, config, checkpoint, args.device)
        for config, checkpoint in ((args.config_a, args.checkpoint_a),
                                   (args.config_b, args.checkpoint_b))
    ]
    matrix, used = layer_cka(models, paths, args.batch_size, args.device)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(osp.join(args.out_dir, 'cka.json'), 'w') as f:
        json.dump(dict(labels=args.labels,
                       models=[[args.config_a, args.checkpoint_a],
                               [args.config_b, args.checkpoint_b]],
                       num_images=used, cka=matrix.tolist()), f, indent=1)
    plot(matrix, args.labels, osp.join(args.out_dir, 'cka.png'))
    diagonal = ', '.join(f'{v:.3f}' for v in matrix.diagonal().tolist())
    print(f'CKA over {used} images; diagonal: {diagonal}')
    print(f'wrote {args.out_dir}/cka.json and cka.png')


if __name__ == '__main__':
    main()
