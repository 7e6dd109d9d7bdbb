"""Attention distance and entropy of ViT checkpoints, per layer and head.

For each ``CONFIG CHECKPOINT`` pair (the checkpoint must fit the config, as
for ``tools/test.py``), the backbone runs on ``--num-images`` images of
``--img-dir`` (a seeded pick, made into inputs by the config's test
pipeline and the model's data preprocessor, as ``tools/test.py`` makes
them; a pretrain config without one: resized and centre-cropped to the
ViT's input size), nothing masked. For every block and head, the attention
of each patch over the other patches (class token left out, rows
renormalised) gives an entropy ``-sum p log p`` (nats) and a distance
``sum p * d`` (``d`` the pixel distance between patch centres), averaged
over patches and images: the measures of the Conditional MAE paper's Fig. 5
and 16-19.

Writes ``attention_stats.json`` (per model: distance and entropy,
[layers][heads]) and ``attention_stats.png`` (both against the layer, one
colour per model: the mean over heads as a line, each head as a dot) to
``--out-dir``.

Example (MAE against Conditional MAE)::

    python tools/analysis_tools/attention_stats.py \\
        configs/conditional_mae/vit-b16_L0_in1k_pretrain.py mae.pth \\
        configs/conditional_mae/vit-b16_L0-10_in1k_pretrain.py cmae.pth \\
        --labels MAE C-MAE --img-dir data/imagenet/val --num-images 256
"""
import argparse
import json
import os
import os.path as osp

import matplotlib
import torch
from mmengine.utils import ProgressBar

from mmmaskreuse.analysis import (add_image_arguments, add_model_pairs,
                                  attention_distance_entropy,
                                  check_model_pairs, load_vit,
                                  normalised_batches, patch_attention,
                                  picked_images, recording_attention,
                                  run_backbone)

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(
        description='Attention distance and entropy of ViT checkpoints')
    add_model_pairs(parser)
    parser.add_argument('--out-dir', default='work_dirs/attention_stats')
    add_image_arguments(parser, num_images=64, batch_size=16)
    args = parser.parse_args()
    check_model_pairs(parser, args, files=False)  # load_vit names them
    return parser, args


@torch.no_grad()
def measure(model, paths, batch_size, device):
    """Distance and entropy, float64 [layers, heads], over ``paths``."""
    backbone = model.backbone
    patch = backbone.patch_embed.projection.kernel_size[0]
    grid = tuple(backbone.patch_resolution)
    extra = getattr(backbone, 'num_extra_tokens', 1)
    sums, count = 0, 0
    progress = ProgressBar(len(paths))
    for inputs in normalised_batches(model, paths, batch_size, device):
        with recording_attention(backbone) as attentions:
            run_backbone(backbone, inputs)
        stats = torch.stack([
            torch.stack(attention_distance_entropy(
                patch_attention(a, extra), grid, patch)) for a in attentions
        ])  # [layers, 2, heads]
        sums = sums + stats * len(inputs)
        count += len(inputs)
        for _ in inputs:
            progress.update()
    print()
    means = sums / count
    return means[:, 0], means[:, 1]


def plot(results: dict, path: str) -> None:
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for index, (label, result) in enumerate(results.items()):
        colour = f'C{index}'
        for axis, key, unit in ((axes[0], 'distance', 'pixels'),
                                (axes[1], 'entropy', 'nats')):
            values = torch.tensor(result[key])  # [layers, heads]
            layers = torch.arange(1, len(values) + 1)
            axis.plot(layers, values.mean(1), color=colour, label=label)
            axis.scatter(layers[:, None].expand_as(values).flatten(),
                         values.flatten(), color=colour, s=6, alpha=0.4)
            axis.set_xticks(layers.tolist())
            axis.set_xlabel('layer')
            axis.set_ylabel(f'attention {key} ({unit})')
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main():
    parser, args = parse_args()
    paths = picked_images(parser, args)
    results = {}
    for label, (config, checkpoint) in zip(args.labels, args.models):
        model = load_vit(parser, config, checkpoint, args.device)
        print(f'{label}: {len(paths)} images')
        distance, entropy = measure(model, paths, args.batch_size,
                                    args.device)
        results[label] = dict(config=config, checkpoint=checkpoint,
                              num_images=len(paths),
                              distance=distance.tolist(),
                              entropy=entropy.tolist())
        for layer, (d, h) in enumerate(zip(distance, entropy), start=1):
            print(f'{label} layer {layer}: distance {d.mean():.2f} px, '
                  f'entropy {h.mean():.3f} nats (mean of {len(d)} heads)')
    os.makedirs(args.out_dir, exist_ok=True)
    with open(osp.join(args.out_dir, 'attention_stats.json'), 'w') as f:
        json.dump(results, f, indent=1)
    plot(results, osp.join(args.out_dir, 'attention_stats.png'))
    print(f'wrote {args.out_dir}/attention_stats.json and '
          'attention_stats.png')


if __name__ == '__main__':
    main()
