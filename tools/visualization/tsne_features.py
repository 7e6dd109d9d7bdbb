"""t-SNE of the patch features of one or more models, coloured by class.

For each ``CONFIG CHECKPOINT`` pair (the checkpoint must fit the config, as
for ``tools/test.py``), the backbone runs on ``--num-images`` images of
``--img-dir`` (a seeded pick; the class of an image is its folder's name),
made into inputs as ``tools/test.py`` makes them: the config's test
pipeline, then the model's data preprocessor (a pretrain config without a
test pipeline: resized and centre-cropped to a ViT's input size, else
224), nothing masked; every patch position of its last block or
stage (``--layer`` names another) becomes a point, and scikit-learn's t-SNE
places the points in 2-D (Conditional MAE's Fig. 10). A model whose patch
features are grouped by class shows clusters of one colour; the JSON gives
the share of each point's 5 nearest neighbours in the embedding that are of
its class (``neighbour_agreement``), to compare models by a number.

Writes ``tsne.png`` (one panel per model) and ``tsne.json`` (per model: the
points, their classes, the agreement) to ``--out-dir``.

Example::

    python tools/visualization/tsne_features.py \\
        configs/conditional_mae/vit-b16_L0_in1k_pretrain.py mae.pth \\
        configs/conditional_mae/vit-b16_L0-10_in1k_pretrain.py cmae.pth \\
        --labels MAE C-MAE --img-dir data/imagenet100/val --num-images 100
"""
import argparse
import json
import os
import os.path as osp

import matplotlib
import numpy as np
import torch

from mmmaskreuse.analysis import (add_image_arguments, add_model_pairs,
                                  check_model_pairs, load_or_exit,
                                  neighbour_agreement, normalised_batches,
                                  patch_features, picked_images,
                                  tsne_embedding)
from mmmaskreuse.analysis.cam import find_layer

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(
        description='t-SNE of patch features, coloured by class')
    add_model_pairs(parser)
    add_image_arguments(parser, num_images=32, batch_size=32)
    parser.add_argument('--layer', help='module whose output is embedded '
                        '(default: the last stage or block)')
    parser.add_argument('--perplexity', type=float, default=30.)
    parser.add_argument('--out-dir', default='work_dirs/tsne')
    args = parser.parse_args()
    check_model_pairs(parser, args)
    return parser, args


def main():
    parser, args = parse_args()
    paths = picked_images(parser, args)
    classes = sorted({osp.basename(osp.dirname(p)) for p in paths})
    image_class = np.array(
        [classes.index(osp.basename(osp.dirname(p))) for p in paths])
    results = {}
    for label, (config, checkpoint) in zip(args.labels, args.models):
        model = load_or_exit(parser, config, checkpoint, args.device)
        if args.layer:
            try:
                find_layer(model, args.layer)
            except ValueError as error:
                parser.error(f'{config}: --layer {error}')
        features = torch.cat([  # [B, N, C]
            patch_features(model, inputs, args.layer).cpu()
            for inputs in normalised_batches(model, paths, args.batch_size,
                                             args.device)
        ])
        per_image = features.shape[1]
        point_class = np.repeat(image_class, per_image)
        points = tsne_embedding(features.flatten(0, 1).numpy(),
                                args.perplexity, args.seed)
        agreement = neighbour_agreement(points, point_class)
        results[label] = dict(config=config, checkpoint=checkpoint,
                              patches_per_image=per_image,
                              neighbour_agreement=agreement,
                              points=points.round(4).tolist(),
                              classes=point_class.tolist())
        print(f'{label}: {len(points)} points, neighbour agreement '
              f'{agreement:.3f}')
    figure, axes = plt.subplots(1, len(results),
                                figsize=(4 * len(results), 4),
                                squeeze=False)
    for axis, (label, result) in zip(axes[0], results.items()):
        points = np.array(result['points'])
        scatter = axis.scatter(points[:, 0], points[:, 1], s=4,
                               c=result['classes'], cmap='tab10',
                               vmin=0, vmax=max(9, len(classes) - 1))
        axis.set_title(f'{label} ({result["neighbour_agreement"]:.2f})',
                       fontsize='medium')
        axis.set_xticks([])
        axis.set_yticks([])
    if len(classes) <= 10:
        handles = scatter.legend_elements()[0][:len(classes)]
        axes[0][-1].legend(handles, classes, fontsize='x-small',
                           loc='best')
    figure.tight_layout()
    os.makedirs(args.out_dir, exist_ok=True)
    figure.savefig(osp.join(args.out_dir, 'tsne.png'), dpi=120)
    plt.close(figure)
    with open(osp.join(args.out_dir, 'tsne.json'), 'w') as f:
        json.dump(dict(class_names=classes, images=paths, models=results),
                  f)
    print(f'wrote {args.out_dir}/tsne.png and tsne.json')


if __name__ == '__main__':
    main()
