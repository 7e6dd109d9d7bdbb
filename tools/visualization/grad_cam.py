"""Grad-CAM of classifiers side by side on the same images.

MaskAnyNet's figure: the original image, then the class activation map of
each ``CONFIG CHECKPOINT`` pair (e.g. a MaskAnyNet model and its vanilla
twin) over it, one row per image. Each map is for the class that model
predicts (``--target-category`` fixes one class for all), at the last
stage of a CNN backbone or the last block of a transformer
(``--target-layer`` names another, e.g. ``backbone.layer3``). The maps
come from the ``grad-cam`` package, as in mmpretrain's ``vis_cam.py``.
Each model sees the images as ``tools/test.py`` shows them to it: through
its config's test pipeline (resizing, cropping) and its data preprocessor
(channel order by ``to_rgb``, normalisation); each checkpoint must fit its
config as ``tools/test.py`` requires. The left column shows the first
model's test-pipeline image.

Writes ``grad_cam.png`` and ``grad_cam.json`` (per image and model: the
class, named when the checkpoint's training run saved the class names, its
score and the map's peak in pixels) to ``--out-dir``.

Example::

    python tools/visualization/grad_cam.py \\
        configs/maskanynet/resnet50_imagenet.py maskanynet.pth \\
        configs/baselines/resnet50_imagenet.py vanilla.pth \\
        --labels MaskAnyNet ResNet-50 --img-dir data/imagenet/val \\
        --num-images 6
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
                                  normalised_batches, packed_images,
                                  picked_images)
from mmmaskreuse.analysis.cam import default_target_layer, find_layer, grad_cam

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(
        description='Grad-CAM of classifiers side by side')
    add_model_pairs(parser)
    add_image_arguments(parser, num_images=4, batch_size=4)
    parser.add_argument('--target-layer',
                        help='module whose output is weighed (default: the '
                        'last stage or block of the backbone)')
    parser.add_argument('--target-category', type=int,
                        help='class of every map (default: each model\'s '
                        'prediction)')
    parser.add_argument('--out-dir', default='work_dirs/grad_cam')
    args = parser.parse_args()
    check_model_pairs(parser, args)
    return parser, args


def model_maps(parser, args, config, checkpoint, paths):
    """Maps [N, S, S], classes and scores of one model on ``paths``."""
    model = load_or_exit(parser, config, checkpoint, args.device)
    layer = args.target_layer or default_target_layer(model)
    try:
        find_layer(model, layer)
    except ValueError as error:
        parser.error(f'{config}: --target-layer {error}')
    inputs = torch.cat(list(
        normalised_batches(model, paths, args.batch_size, args.device)))
    with torch.no_grad():
        scores = model(inputs, mode='tensor').softmax(-1)
    if args.target_category is not None and not (
            0 <= args.target_category < scores.shape[-1]):
        parser.error(f'--target-category {args.target_category}: the model '
                     f'has {scores.shape[-1]} classes')
    classes = (scores.argmax(-1).cpu() if args.target_category is None else
               torch.full((len(paths), ), args.target_category))
    maps = grad_cam(model, inputs, layer, classes.tolist())
    picked = scores.gather(1, classes[:, None].to(scores.device))[:, 0]
    names = (model.dataset_meta or {}).get('classes')
    classes = [(c, names[c] if names else str(c)) for c in classes.tolist()]
    return maps, classes, picked.tolist(), layer, model


def rgb_images(model, paths):
    """[N, H, W, 3] floats in [0, 1]: ``paths`` as ``model``'s test pipeline
    makes them (``LoadImageFromFile`` gives BGR), for display."""
    images = packed_images(model, paths)['inputs']
    if isinstance(images, (list, tuple)):
        images = torch.stack(list(images))
    return images.flip(1).permute(0, 2, 3, 1).float().numpy() / 255


def main():
    parser, args = parse_args()
    paths = picked_images(parser, args)
    results, originals = [], None
    for label, (config, checkpoint) in zip(args.labels, args.models):
        maps, classes, scores, layer, model = model_maps(
            parser, args, config, checkpoint, paths)
        if originals is None:
            originals = rgb_images(model, paths)
        if maps.shape[1:] != originals.shape[1:3]:
            parser.error(
                f'{config}: its test pipeline makes {list(maps.shape[1:])} '
                f'images, the first model\'s {list(originals.shape[1:3])}: '
                'the maps cannot be drawn over the same images')
        results.append((label, maps, classes, scores, layer))

    rows, cols = len(paths), 1 + len(results)
    figure, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.2 * rows),
                                squeeze=False)
    records = []
    for row, path in enumerate(paths):
        axes[row][0].imshow(originals[row])
        axes[row][0].set_title(osp.basename(path), fontsize='x-small')
        record = dict(image=path, models={})
        for col, (label, maps, classes, scores, _) in enumerate(results, 1):
            axes[row][col].imshow(originals[row])
            axes[row][col].imshow(maps[row], cmap='jet', alpha=0.5,
                                  vmin=0, vmax=1)
            index, name = classes[row]
            axes[row][col].set_title(f'{label}: {name} ({scores[row]:.2f})',
                                     fontsize='x-small')
            peak = np.unravel_index(maps[row].argmax(), maps[row].shape)
            record['models'][label] = dict(class_index=index,
                                           class_name=name,
                                           score=scores[row],
                                           peak_yx=[int(p) for p in peak])
        records.append(record)
    for axis in axes.flat:
        axis.axis('off')
    figure.tight_layout()
    os.makedirs(args.out_dir, exist_ok=True)
    figure.savefig(osp.join(args.out_dir, 'grad_cam.png'), dpi=100)
    plt.close(figure)
    layers = {label: layer for label, *_, layer in results}
    with open(osp.join(args.out_dir, 'grad_cam.json'), 'w') as f:
        json.dump(dict(target_layers=layers, images=records), f, indent=1)
    print(f'wrote {args.out_dir}/grad_cam.png and grad_cam.json')


if __name__ == '__main__':
    main()
