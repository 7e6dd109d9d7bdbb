"""Draw the original, masked and reuse images of masking strategies.

One row per image; the columns are the original image, then the masked image
and the reuse image of each strategy. Masked cells show the fill value
(black by default). A reuse image is drawn at scale, centred in its tile:
its sides are ``sqrt(mask_ratio)`` of the original's.

Examples:
    # a few images of the toy data, all four strategies
    python tools/visualization/show_masks.py --data-root data/toy/cls/val \\
        --num-images 4 --img-size 64 --out masks.png

    # given files, Patch and Grid at 0.0625 on an 8 x 8 grid, grey fill
    python tools/visualization/show_masks.py img1.jpg img2.jpg \\
        --strategies Patch Grid --mask-ratio 0.0625 --fill-value 128 \\
        --out masks.png
"""
import argparse
import os
import os.path as osp

import torch
from matplotlib.figure import Figure

from mmmaskreuse.analysis import (STRATEGIES, build_mask_reuse, cell_grid,
                                  list_images, load_images, pick_images)

# one tile is 160 x 180 px: exact in inches at this dpi
DPI = 80
TILE_INCHES = (2.0, 2.25)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('images', nargs='*', metavar='IMAGE',
                        help='image files (or use --data-root)')
    parser.add_argument('--data-root', help='image folder to pick from')
    parser.add_argument('--num-images', type=int, default=4,
                        help='images picked (seeded) from --data-root')
    parser.add_argument('--strategies', nargs='+', default=list(STRATEGIES),
                        choices=STRATEGIES)
    parser.add_argument('--mask-ratio', type=float, default=0.25)
    parser.add_argument('--grid-size', type=int, nargs='+', default=[8],
                        help='cells gh [gw] over the image')
    parser.add_argument('--grid-period', type=int, default=None,
                        help='Grid mask period in cells (default: the '
                        'smallest that realises the ratio)')
    parser.add_argument('--img-size', type=int, default=224,
                        help='square side images are resized to')
    parser.add_argument('--fill-value', type=float, default=0.,
                        help='grey level of masked pixels, 0..255')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default='masks.png', help='PNG file')
    args = parser.parse_args()
    if bool(args.images) == bool(args.data_root):
        parser.error('give IMAGE files or --data-root, not both or neither')
    try:
        args.grid_size = cell_grid(args.grid_size, args.img_size)
        args.maskers = {strategy: build_mask_reuse(
            strategy, args.mask_ratio, args.grid_size, args.grid_period,
            args.fill_value) for strategy in args.strategies}
        if args.data_root:
            args.images = pick_images(list_images(args.data_root),
                                      args.num_images, args.seed)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    missing = [path for path in args.images if not osp.isfile(path)]
    if missing:
        parser.error(f'image not found: {missing[0]}')
    return args


def to_numpy(image):
    """[3, H, W] float in [0, 255] -> [H, W, 3] uint8 for imshow."""
    return image.clamp(0, 255).round().byte().permute(1, 2, 0).numpy()


def draw(panels, titles, out):
    """Draw rows of ``panels`` ([3, h, w] tensors) under column ``titles``;
    a panel smaller than the first of its row is drawn at scale, centred."""
    rows, cols = len(panels), len(titles)
    fig = Figure(figsize=(cols * TILE_INCHES[0], rows * TILE_INCHES[1]),
                 dpi=DPI)
    axes = fig.subplots(rows, cols, squeeze=False)
    for index, (row, ax_row) in enumerate(zip(panels, axes)):
        height, width = row[0].shape[-2:]
        for col, (panel, ax) in enumerate(zip(row, ax_row)):
            h, w = panel.shape[-2:]
            top, left = (height - h) / 2, (width - w) / 2
            ax.imshow(to_numpy(panel), interpolation='nearest',
                      extent=(left, left + w, top + h, top))
            ax.set_xlim(0, width)
            ax.set_ylim(height, 0)
            ax.axis('off')
            if index == 0:
                ax.set_title(titles[col], fontsize=9)
    fig.tight_layout()
    fig.savefig(out)


def main():
    args = parse_args()
    images = load_images(args.images, args.img_size)
    titles, columns = ['original'], [list(images)]
    for strategy, mask_reuse in args.maskers.items():
        generator = torch.Generator().manual_seed(args.seed)
        masked, reuse, _ = mask_reuse(images, generator)
        h, w = reuse.shape[-2:]
        titles += [f'{strategy} masked', f'{strategy} reuse {h}x{w}']
        columns += [list(masked), list(reuse)]
    out_dir = osp.dirname(args.out)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    draw(list(zip(*columns)), titles, args.out)
    print(f'{len(images)} images x {len(args.maskers)} strategies '
          f'(mask ratio {args.mask_ratio}, grid {args.grid_size}) drawn to '
          f'{args.out}')


if __name__ == '__main__':
    main()
