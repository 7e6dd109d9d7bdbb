"""Show what a multi-shot masked model sees and rebuilds, shot by shot.

For Conditional MAE (ViT), two-shot SimMIM (Swin) and (two-shot) FCMAE
(ConvNeXt V2) pretrain checkpoints. Writes one PNG per image with the
panels: the original, what is still visible after shot 1, after shot 2 ...
(masked patches or cells grey), and the reconstruction (the final visible
pixels pasted over the decoder's prediction of every masked one). With
``norm_pix`` (MAE, FCMAE) the prediction is in per-patch normalised pixels;
it is brought back with the mean and variance of the original patch, as in
MAE's own visualisation. SimMIM's first mask is drawn as its pipeline's
``SimMIMMaskGenerator`` would, with ``--seed``.

Usage::

    python tools/visualization/show_reconstruction.py CONFIG CKPT IMAGE... \\
        [--out-dir DIR] [--seed N] [--img-size N]
"""
import argparse
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
from mmengine.registry import MODELS, DefaultScope
from mmpretrain.datasets.transforms import SimMIMMaskGenerator
from mmpretrain.models.selfsup import BaseSelfSupervisor
from PIL import Image, ImageDraw

from mmmaskreuse.engine import load_checked, load_config
from mmmaskreuse.models import FCMAE, ConditionalMAE, MultiShotSimMIM

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
    parser.add_argument(
        '--img-size', type=int, default=None,
        help="side the images are cropped to (default: the encoder's input "
        'size; 224 for FCMAE, whose ConvNeXt takes any multiple of 32)')
    return parser, parser.parse_args()


PRETRAIN_MODELS = (ConditionalMAE, MultiShotSimMIM, FCMAE)


def build_model(config: str, checkpoint: str,
                device: str) -> BaseSelfSupervisor:
    """The config's model with the checkpoint's weights (which must fit
    it, as for ``tools/test.py``), in eval mode."""
    cfg = load_config(config)
    model_cfg = cfg.model.copy()
    if 'data_preprocessor' in cfg:  # as mmengine's Runner does
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(model_cfg)
    if not isinstance(model, PRETRAIN_MODELS):
        raise ValueError(
            f'{config} builds {type(model).__name__}, not a multi-shot '
            'pretrain model (mmmaskreuse.ConditionalMAE, MultiShotSimMIM or '
            'FCMAE)')
    load_checked(model, checkpoint, config)
    return model.to(device).eval()


def input_size(model: BaseSelfSupervisor) -> Optional[int]:
    """The image side the encoder was built for (None: any multiple of the
    cell, as FCMAE's ConvNeXt)."""
    backbone = model.backbone
    if isinstance(model, FCMAE):
        return None
    if isinstance(model, MultiShotSimMIM):
        stride = backbone.patch_embed.projection.stride[0]
        return backbone.patch_resolution[0] * stride
    return backbone.patch_resolution[0] * model.head.patch_size


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


def patches_to_pixels(head, patches: torch.Tensor,
                      masks: Sequence[torch.Tensor]) -> tuple:
    """MAE-style outputs in pixels: ``patches`` [1, L, p * p * 3] and each
    [1, L] mask become [1, 3, H, W] and [1, 1, H, W]."""
    width = patches.shape[-1]
    return head.unpatchify(patches), [
        head.unpatchify(mask[..., None].repeat(1, 1, width))[:, :1]
        for mask in masks
    ]


def predict(model: BaseSelfSupervisor, inputs: torch.Tensor) -> tuple:
    """The prediction and the shots' masks, in pixels.

    Args:
        model (BaseSelfSupervisor): One of ``PRETRAIN_MODELS``.
        inputs (torch.Tensor): [1, 3, H, W] normalised RGB.

    Returns:
        tuple: ``pred`` [1, 3, H, W] normalised RGB and a [1, 1, H, W]
        mask a shot (1 where it masked).
    """
    head = model.head
    if isinstance(model, MultiShotSimMIM):
        backbone = model.backbone
        stride = backbone.patch_embed.projection.stride[0]
        generator = SimMIMMaskGenerator(
            input_size=inputs.shape[2],
            mask_patch_size=backbone.mask_patch_size,
            model_patch_size=stride, mask_ratio=backbone.mask_ratios[0])
        mask = torch.from_numpy(generator.transform({})['mask'])[None]
        outs, shot_masks = backbone(inputs, mask.to(inputs.device))
        pred = model.neck(outs[0])  # [1, 3, H, W], SimMIM's own pixels
        return pred, [
            shot_mask.repeat_interleave(stride, 1).repeat_interleave(
                stride, 2)[:, None] for shot_mask in shot_masks
        ]
    if isinstance(model, FCMAE):
        outs, shot_masks = model.backbone(inputs)
        pred = model.neck(outs[-1], sum(shot_masks))  # [1, L, p * p * 3]
    else:
        latent, _, ids_restore, shot_masks = model.backbone(inputs)
        pred = model.neck(latent, ids_restore)  # [1, L, p * p * 3]
    if head.norm_pix:  # back from per-patch normalised pixels
        target = head.patchify(inputs)
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)
        pred = pred * (var + 1.e-6)**.5 + mean
    return patches_to_pixels(head, pred, shot_masks)


@torch.no_grad()
def reconstruct(model: BaseSelfSupervisor,
                image: torch.Tensor) -> List[Tuple[str, np.ndarray]]:
    """The panels of one image.

    Args:
        model (BaseSelfSupervisor): The pretrained model.
        image (torch.Tensor): [1, 3, H, W] uint8 BGR.

    Returns:
        list[tuple[str, np.ndarray]]: ``(caption, [H, W, 3] uint8 RGB)``.
    """
    preprocessor = model.data_preprocessor
    device = next(model.parameters()).device
    inputs = preprocessor(
        dict(inputs=image.to(device), data_samples=None),
        training=False)['inputs']  # [1, 3, H, W] normalised RGB
    pred, shot_masks = predict(model, inputs)
    mean, std = preprocessor.mean, preprocessor.std  # [3, 1, 1]

    def to_rgb(pixels: torch.Tensor) -> np.ndarray:
        pixels = pixels * std + mean
        return pixels[0].permute(1, 2, 0).clamp(0, 255).byte().cpu().numpy()

    gray = (MASKED_GRAY - mean) / std  # [3, 1, 1]
    unit = 'block' if isinstance(model, ConditionalMAE) else 'stage'
    panels = [('original', to_rgb(inputs))]
    masked = torch.zeros_like(shot_masks[0])
    for shot, shot_mask in enumerate(shot_masks, start=1):
        masked = masked + shot_mask
        layer = model.backbone.mask_layers[shot - 1]
        panels.append((f'after shot {shot} ({unit} {layer})',
                       to_rgb(inputs * (1 - masked) + gray * masked)))
    panels.append(('reconstruction',
                   to_rgb(inputs * (1 - masked) + pred * masked)))
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
    size = args.img_size or input_size(model) or 224
    os.makedirs(args.out_dir, exist_ok=True)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)  # SimMIM's mask generator draws with numpy
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
