"""Checkpoints and images for the representation tools: a model in eval
mode, its backbone run without masking, batches normalised as its data
preprocessor does."""
import inspect
import os.path as osp
from typing import Iterator, Sequence, Union

import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from mmmaskreuse.engine import build_model, load_config
from .images import list_images, load_images, pick_images


def load_model(config: Union[str, Config], checkpoint: str,
               device: str = 'cpu') -> torch.nn.Module:
    """``config``'s model (a path, or a loaded config) with
    ``checkpoint``'s weights (mmengine's loading, safe as everywhere in
    this package), on ``device``, in eval mode. Its ``dataset_meta`` is
    what the checkpoint's training run saved (class names...), or None."""
    cfg = load_config(config) if isinstance(config, str) else config
    model = build_model(cfg)
    loaded = load_checkpoint(model, checkpoint, map_location='cpu',
                             logger='silent')
    meta = loaded.get('meta') if isinstance(loaded, dict) else None
    model.dataset_meta = (meta or {}).get('dataset_meta')
    model.to(device)
    model.eval()
    return model


def run_backbone(backbone: torch.nn.Module, inputs: torch.Tensor):
    """The backbone on normalised ``inputs``, nothing masked (a pretrain
    backbone such as MAE's is called with ``mask=None``)."""
    if 'mask' in inspect.signature(backbone.forward).parameters:
        return backbone(inputs, mask=None)
    return backbone(inputs)


def vit_input_size(backbone: torch.nn.Module) -> int:
    """The square input side of an mmpretrain ViT: patch grid x patch."""
    patch = backbone.patch_embed.projection.kernel_size[0]
    return backbone.patch_resolution[0] * patch


def normalised_batches(model: torch.nn.Module, paths: Sequence[str],
                       batch_size: int, size: int,
                       device: str = 'cpu') -> Iterator[torch.Tensor]:
    """``paths`` as RGB batches [B, 3, size, size], normalised with the
    model's data preprocessor's mean and std (which are in RGB order
    whatever its ``to_rgb``)."""
    preprocessor = model.data_preprocessor
    mean, std = preprocessor.mean.to(device), preprocessor.std.to(device)
    for start in range(0, len(paths), batch_size):
        rgb = load_images(paths[start:start + batch_size], size).to(device)
        yield (rgb - mean) / std


def add_model_pairs(parser) -> None:
    """The positional ``CONFIG CHECKPOINT [CONFIG CHECKPOINT ...]`` of the
    tools that compare models, and their ``--labels``."""
    parser.add_argument('models', nargs='+', metavar='CONFIG CHECKPOINT',
                        help='one or more config + checkpoint pairs')
    parser.add_argument('--labels', nargs='+',
                        help='one name per model (default: checkpoint '
                        'file names)')


def check_model_pairs(parser, args, files: bool = True) -> None:
    """Turns ``args.models`` into ``(config, checkpoint)`` pairs and fills
    ``args.labels``, or the parser's error naming what is wrong: an odd
    count, a label count that differs, a file not found (with
    ``files``)."""
    if len(args.models) % 2:
        parser.error('models come in CONFIG CHECKPOINT pairs, got '
                     f'{len(args.models)} paths')
    args.models = list(zip(args.models[::2], args.models[1::2]))
    if files:
        for config, checkpoint in args.models:
            for path, what in ((config, 'config'),
                               (checkpoint, 'checkpoint')):
                if not osp.isfile(path):
                    parser.error(f'{what} not found: {path}')
    if args.labels is None:
        args.labels = [osp.basename(c) for _, c in args.models]
    if len(args.labels) != len(args.models):
        parser.error(f'--labels: {len(args.labels)} names for '
                     f'{len(args.models)} models')


def add_image_arguments(parser, num_images: int, batch_size: int) -> None:
    """The flags of the representation tools: ``--img-dir``,
    ``--num-images``, ``--batch-size``, ``--device``, ``--seed``."""
    parser.add_argument('--img-dir', required=True,
                        help='folder of images (searched recursively)')
    parser.add_argument('--num-images', type=int, default=num_images,
                        help=f'images to use (default: {num_images})')
    parser.add_argument('--batch-size', type=int, default=batch_size)
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the image pick')


def picked_images(parser, args) -> list:
    """``--num-images`` paths of ``--img-dir`` (seeded), or the parser's
    error naming what is wrong."""
    for flag in ('num_images', 'batch_size'):
        if getattr(args, flag) < 1:
            parser.error(f'--{flag.replace("_", "-")} must be >= 1, got '
                         f'{getattr(args, flag)}')
    try:
        return pick_images(list_images(args.img_dir), args.num_images,
                           args.seed)
    except FileNotFoundError as error:
        parser.error(str(error))


def load_vit(parser, config: str, checkpoint: str,
             device: str) -> torch.nn.Module:
    """:func:`load_model` of a model with a ViT backbone, or the parser's
    error naming the config and the backbone."""
    from .representations import vit_attention_layers
    for path, what in ((config, 'config'), (checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            parser.error(f'{what} not found: {path}')
    model = load_model(config, checkpoint, device)
    try:
        vit_attention_layers(model.backbone)
    except TypeError as error:
        parser.error(f'{config}: {error}')
    return model
