"""Show what a Conditional MAE sees and rebuilds, shot by shot.

Writes one PNG per image with the panels: the original, the patches still
visible after shot 1, after shot 2 ..., and the reconstruction (the final
visible patches pasted over the decoder's prediction of every masked
patch). With ``norm_pix`` the prediction is in per-patch normalised pixels;
it is brought back with the mean and variance of the original patch, as in
MAE's own visualisation.

Usage::

    python tools/visualization/show_reconstruction.py CONFIG CKPT IMAGE... \\
        [--out-dir DIR] [--seed N]
"""
import argparse
import os
import os.path as osp
from typing import List, Tuple

import mmcv
import numpy as np
import torch
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import load_checkpoint
from PIL import Image, ImageDraw

from mmmaskreuse.engine import load_config
from mmmaskreuse.models import ConditionalMAE

GAP = 4  # px between panels
LABEL_HEIGHT = 14  # px of the caption row
MIN_PANEL = 192  # small images are enlarged (nearest) to at least this
MASKED_GRAY = 128  # value shown where a patch is masked


def parse_args():
    parser = argparse.ArgumentParser(
        description='Draw the shots and the reconstruction of a '
        'Conditional MAE pretrain checkpoint')
    parser.add_argument('config', help='Conditional MAE pretrain config')
    parser.add_argument('checkpoint', help='checkpoint of that config')
    parser.add_argument('images', nargs='+', help='image files')
    parser.add_argument(
        '--out-dir', default='work_dirs/reconstruction',
        help='folder for the PNGs (default: work_dirs/reconstruction)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the random masks')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    return parser, parser.parse_args()


def build_model(config: str, checkpoint: str,
                device: str) -> ConditionalMAE:
    """The config's model with the checkpoint's weights, in eval mode."""
    cfg = load_config(config)
    model_cfg = cfg.model.copy()
    if 'data_preprocessor' in cfg:  # as mmengine's Runner does
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(model_cfg)
    if not isinstance(model, ConditionalMAE):
        raise ValueError(f'{config} builds {type(model).__name__}, not a '
                         'mmmaskreuse.ConditionalMAE pretrain model')
    load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    return model.to(device).eval()


def read_image(path: str, size: int) -> torch.Tensor:
    """[1, 3, size, size] uint8 BGR (as LoadImageFromFile gives): the short
    side resized to ``size``, then the centre cropped."""
    image = mmcv.imread(path)  # [H, W, 3] BGR
    if image is None:
        raise ValueError(f'cannot read an image from {path}')
    image = mmcv.imrescale(image, (size, 1 << 30), interpolation='bicubic')
    top = (image.shape[0] - size) // 2
    left = (image.shape[1] - size) // 2
    image = image[top:top + size, left:left + size]
    return torch.from_numpy(np.ascontiguousarray(image)).permute(
        2, 0, 1)[None]


@torch.no_grad()
def reconstruct(model: ConditionalMAE,
                image: torch.Tensor) -> List[Tuple[str, np.ndarray]]:
    """The panels of one image.

    Args:
        model (ConditionalMAE): The pretrained model.
        image (torch.Tensor): [1, 3, H, W] uint8 BGR.

    Returns:
        list[tuple[str, np.ndarray]]: ``(caption, [H, W, 3] uint8 RGB)``.
    """
    preprocessor = model.data_preprocessor
    device = next(model.parameters()).device
    inputs = preprocessor(
        dict(inputs=image.to(device), data_samples=None),
        training=False)['inputs']  # [1, 3, H, W] normalised RGB
    latent, mask, ids_restore, shot_masks = model.backbone(inputs)
    pred = model.neck(latent, ids_restore)  # [1, L, p * p * 3]

    head = model.head
    target = head.patchify(inputs)  # [1, L, p * p * 3]
    if head.norm_pix:
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)
        pred = pred * (var + 1.e-6)**.5 + mean

    def to_rgb(patches: torch.Tensor) -> np.ndarray:
        pixels = head.unpatchify(patches)  # [1, 3, H, W] normalised
        pixels = pixels * preprocessor.std + preprocessor.mean
        return pixels[0].permute(1, 2, 0).clamp(0, 255).byte().cpu().numpy()

    def hidden(masked: torch.Tensor) -> np.ndarray:
        gray = (MASKED_GRAY - preprocessor.mean) / preprocessor.std
        gray = gray.reshape(1, 1, 3).repeat(1, 1, head.patch_size**2)
        masked = masked[..., None]  # [1, L, 1]
        return to_rgb(target * (1 - masked) + gray * masked)

    panels = [('original', to_rgb(target))]
    masked_so_far = torch.zeros_like(mask)
    for shot, shot_mask in enumerate(shot_masks, start=1):
        masked_so_far = masked_so_far + shot_mask
        layer = model.backbone.mask_layers[shot - 1]
        panels.append((f'after shot {shot} (block {layer})',
                       hidden(masked_so_far)))
    pasted = target * (1 - mask[..., None]) + pred * mask[..., None]
    panels.append(('reconstruction', to_rgb(pasted)))
    return panels


def draw(panels: List[Tuple[str, np.ndarray]]) -> Image.Image:
    """Panels side by side, each under its caption."""
    height, width = panels[0][1].shape[:2]
    zoom = max(1, -(-MIN_PANEL // max(height, width)))
    height, width = height * zoom, width * zoom
    canvas = Image.new(
        'RGB', (len(panels) * (width + GAP) - GAP, height + LABEL_HEIGHT),
        'white')
    pen = ImageDraw.Draw(canvas)
    for index, (caption, pixels) in enumerate(panels):
        left = index * (width + GAP)
        panel = Image.fromarray(pixels).resize((width, height),
                                               Image.NEAREST)
        canvas.paste(panel, (left, LABEL_HEIGHT))
        pen.text((left + 2, 1), caption, fill='black')
    return canvas


def main():
    parser, args = parse_args()
    for path, what in [(args.config, 'config'),
                       (args.checkpoint, 'checkpoint')] + [
                           (image, 'image') for image in args.images]:
        if not osp.isfile(path):
            parser.error(f'{what} not found: {path}')
    try:
        model = build_model(args.config, args.checkpoint, args.device)
    except ValueError as error:
        parser.error(str(error))
    size = model.backbone.patch_resolution[0] * model.head.patch_size
    os.makedirs(args.out_dir, exist_ok=True)
    torch.manual_seed(args.seed)
    for path in args.images:
        try:
            image = read_image(path, size)
        except ValueError as error:
            parser.error(str(error))
        out = osp.join(args.out_dir,
                       osp.splitext(osp.basename(path))[0] + '.png')
        draw(reconstruct(model, image)).save(out)
        print(f'{path} -> {out}')


if __name__ == '__main__':
    main()
