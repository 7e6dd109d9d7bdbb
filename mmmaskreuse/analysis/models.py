"""Checkpoints and images for the representation tools: a model in eval
mode, its checkpoint checked against its config, its backbone run without
masking, batches made from image files as ``tools/test.py`` makes them
(the config's test pipeline, then the model's data preprocessor)."""
import inspect
import os.path as osp
from functools import partial
from typing import Iterator, List, Optional, Sequence, Union

import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import FUNCTIONS, DefaultScope

from mmmaskreuse.engine import build_model, load_checked, load_config
from .images import list_images, pick_images


def load_model(config: Union[str, Config], checkpoint: str,
               device: str = 'cpu') -> torch.nn.Module:
    """``config``'s model (a path, or a loaded config) with
    ``checkpoint``'s weights, on ``device``, in eval mode.

    The checkpoint must fit the config as ``tools/test.py`` requires
    (:func:`~mmmaskreuse.engine.load_checked`: no missing, unexpected or
    mis-shaped weight), or a ValueError names both. The model keeps its
    config as ``model.cfg`` (as mmdet's and mmseg's ``init_model`` do),
    for :func:`normalised_batches`; its ``dataset_meta`` is what the
    checkpoint's training run saved (class names...), or None."""
    cfg = load_config(config) if isinstance(config, str) else config
    model = build_model(cfg)
    name = config if isinstance(config, str) else (cfg.filename or 'config')
    loaded = load_checked(model, checkpoint, name)
    meta = loaded.get('meta') if isinstance(loaded, dict) else None
    model.dataset_meta = (meta or {}).get('dataset_meta')
    model.cfg = cfg
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


def _test_loader(model: torch.nn.Module) -> Optional[dict]:
    cfg = model.cfg
    return cfg.get('test_dataloader') or cfg.get('val_dataloader')


def analysis_pipeline(model: torch.nn.Module) -> List[dict]:
    """The transforms that make ``model``'s inputs from an image file, as
    its config's test (else validation) dataloader makes them, without
    loading annotations. A config without either (a pretrain config) gets
    mmpretrain's test pipeline at the model's input size (a ViT's, else
    224): the short side resized to it, the centre cropped."""
    loader = _test_loader(model)
    if loader is not None:
        return [
            step for step in loader['dataset']['pipeline']
            if 'LoadAnnotations' not in str(step['type'])
        ]
    try:
        size = vit_input_size(model.backbone)
    except AttributeError:
        size = 224
    return [
        dict(type='LoadImageFromFile'),
        dict(type='ResizeEdge', scale=size, edge='short'),
        dict(type='CenterCrop', crop_size=size),
        dict(type='PackInputs')
    ]


def _collate(model: torch.nn.Module):
    """The test dataloader's ``collate_fn``, as mmengine's Runner builds it;
    without a test dataloader ``default_collate`` (the crop makes every
    image one size, and mmpretrain's self-supervised preprocessors take
    only stacked batches)."""
    loader = _test_loader(model)
    collate = dict(type='default_collate') if loader is None else dict(
        loader.get('collate_fn') or dict(type='pseudo_collate'))
    collate.pop('_scope_', None)
    return partial(FUNCTIONS.get(collate.pop('type')), **collate)


def packed_images(model: torch.nn.Module, paths: Sequence[str]) -> dict:
    """``paths`` through :func:`analysis_pipeline`, collated as the test
    dataloader collates them: ``inputs`` as the pipeline packs them (uint8,
    in the channel order the loader gives: BGR for ``LoadImageFromFile``)
    and ``data_samples``."""
    with DefaultScope.overwrite_default_scope(model.cfg.get('default_scope')):
        pipeline = Compose(analysis_pipeline(model))
        collate = _collate(model)
    return collate([pipeline(dict(img_path=path)) for path in paths])


def normalised_batches(model: torch.nn.Module, paths: Sequence[str],
                       batch_size: int,
                       device: str = 'cpu') -> Iterator[torch.Tensor]:
    """``paths`` as ``tools/test.py`` feeds them to the model (of
    :func:`load_model`): :func:`packed_images` through the model's data
    preprocessor (channel order by its ``to_rgb``, normalisation), batches
    [B, 3, H, W] of the pipeline's size."""
    for start in range(0, len(paths), batch_size):
        batch = packed_images(model, paths[start:start + batch_size])
        with torch.no_grad():
            inputs = model.data_preprocessor(batch, False)['inputs']
        yield inputs.to(device)


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


def load_or_exit(parser, config: str, checkpoint: str,
                 device: str) -> torch.nn.Module:
    """:func:`load_model`, or the parser's error naming what is wrong: a
    file not found, a checkpoint that does not fit the config (both
    named), one the safe loader refuses."""
    for path, what in ((config, 'config'), (checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            parser.error(f'{what} not found: {path}')
    try:
        return load_model(config, checkpoint, device)
    except (ValueError, RuntimeError) as error:
        parser.error(str(error))


def load_vit(parser, config: str, checkpoint: str,
             device: str) -> torch.nn.Module:
    """:func:`load_or_exit` of a model with a ViT backbone, or the
    parser's error naming the config and the backbone."""
    from .representations import vit_attention_layers
    model = load_or_exit(parser, config, checkpoint, device)
    try:
        vit_attention_layers(model.backbone)
    except TypeError as error:
        parser.error(f'{config}: {error}')
    return model
