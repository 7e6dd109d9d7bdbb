"""Strip the reuse branch: a MaskAnyNet model as its plain upstream model.

With a fusion that is exactly the primary path once the reuse features are
gone (``residual``, ``add``: :data:`~.backbones.fusion.DROPPABLE_FUSIONS`),
a MaskAnyNet backbone with ``reuse_at_test='drop'`` computes what its
upstream trunk (mmpretrain's ``ResNet``, ``ConvNeXt``,
``EfficientNetV2``..., or the backbone a ``MaskAnyBackbone`` wraps)
computes with the same weights. :func:`strip_reuse`
writes that trunk down: the config with the upstream backbone and data
preprocessor and no ``mmmaskreuse`` type or import, and the state dict
without the reuse branch. Both load in mmpretrain, mmdet or mmseg alone,
so the deployed model is a standard one and the branch costs nothing at
inference.

The other fusions have no such trunk, and are refused: ``concat`` replaces
the stem's features with the alignment's output, ``image`` feeds the reuse
image to the first convolution as 3 more channels, ``decision`` hands the
head a second network's features.
"""
import copy
import inspect
from typing import Any, Dict, Iterator, Tuple

from mmengine.config import Config, ConfigDict

from .backbones.fusion import DROPPABLE_FUSIONS

SCOPE = 'mmmaskreuse.'

#: MaskAnyNet backbone -> the upstream backbone it subclasses
PLAIN_BACKBONES = {
    'MaskResNet': 'mmpretrain.ResNet',
    'MaskResNetV1c': 'mmpretrain.ResNetV1c',
    'MaskResNetCIFAR': 'mmpretrain.ResNet_CIFAR',
    'MaskViT': 'mmpretrain.VisionTransformer',
    'MaskSwin': 'mmpretrain.SwinTransformer',
    'MaskConvNeXt': 'mmpretrain.ConvNeXt',
    'MaskEfficientNetV2': 'mmpretrain.EfficientNetV2',
}

#: the wrapper that gives any backbone a reuse branch: its plain backbone
#: is the config it wraps (``backbone``)
ANY_BACKBONE = 'MaskAnyBackbone'

#: constructor arguments of the MaskAnyNet backbones that upstream's lack;
#: the checkpoint arguments go too: the stripped checkpoint holds every
#: weight, and theirs would be a MaskAnyNet one
REUSE_ARGS = ('fusion', 'mask_ratio', 'reuse_at_test', 'freeze_reuse',
              'alignment_cfg', 'reuse_drop_prob', 'contract_dilation',
              'pretrained', 'init_cfg')

#: transforms that only make the reuse branch's input
REUSE_TRANSFORMS = ('mmmaskreuse.AutoAugmentReuseView', )

WHY_NOT = {
    'concat': 'its Feature Alignment Module replaces the stem features '
    'with a function of both branches, so no plain backbone computes it',
    'image': 'the reuse image enters the first convolution as 3 more '
    'input channels',
    'decision': "the head sees a second ResNet's features concatenated "
    'to the primary ones (2C channels)',
}


def _short(type_name: Any) -> str:
    name = type_name if isinstance(type_name, str) else getattr(
        type_name, '__name__', str(type_name))
    return name[len(SCOPE):] if name.startswith(SCOPE) else name


def _backbone_cfg(cfg: Config) -> ConfigDict:
    backbone = cfg.model.get('backbone')
    known = (*PLAIN_BACKBONES, ANY_BACKBONE)
    if backbone is None or _short(backbone.get('type')) not in known:
        found = None if backbone is None else backbone.get('type')
        raise ValueError(
            f'strip_reuse: model.backbone type must be one of '
            f'{tuple(SCOPE + name for name in known)}, got '
            f'{found!r}: there is no reuse branch to strip')
    return backbone


def check_strippable(cfg: Config) -> str:
    """The backbone's fusion if the config's model can be stripped exactly;
    a ValueError naming why not otherwise.

    Args:
        cfg (Config): A MaskAnyNet config.

    Returns:
        str: The fusion (one of ``DROPPABLE_FUSIONS``).
    """
    backbone = _backbone_cfg(cfg)
    fusion = backbone.get('fusion', 'concat')
    if fusion not in DROPPABLE_FUSIONS:
        reason = WHY_NOT.get(fusion, 'it is not a known fusion')
        raise ValueError(
            f'strip_reuse: model.backbone.fusion={fusion!r} cannot be '
            f'stripped exactly: {reason}. Only fusion in {DROPPABLE_FUSIONS} '
            'is exactly the plain backbone without the reuse branch (train '
            "with fusion='residual' and reuse_drop_prob > 0 to deploy "
            'a plain backbone)')
    return fusion


def _upstream_preprocessor(preprocessor: dict) -> dict:
    """The upstream data preprocessor a MaskAnyNet one subclasses, with the
    arguments upstream takes."""
    from mmmaskreuse.registry import MODELS
    cls = MODELS.get(_short(preprocessor['type']))
    upstream = next(base for base in cls.__mro__[1:]
                    if not base.__module__.startswith('mmmaskreuse'))
    upstream_args = inspect.signature(upstream.__init__).parameters
    if any(arg.kind == arg.VAR_KEYWORD for arg in upstream_args.values()):
        # it passes **kwargs on: drop only the arguments the subclass adds
        ours = set(inspect.signature(cls.__init__).parameters)
        kept = {key for key in preprocessor if key not in ours - set(
            upstream_args)}
    else:
        kept = set(upstream_args)
    plain = {
        key: value
        for key, value in preprocessor.items()
        if key != 'type' and key in kept
    }
    package = upstream.__module__.split('.')[0]
    return dict(type=f'{package}.{upstream.__name__}', **plain)


def _walk(node: Any, path: str = '') -> Iterator[Tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f'{path}.{key}' if path else str(key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _walk(value, f'{path}[{i}]')


def _drop_reuse_transforms(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _drop_reuse_transforms(value)
                for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(
            _drop_reuse_transforms(value) for value in node
            if not (isinstance(value, dict)
                    and value.get('type') in REUSE_TRANSFORMS))
    return node


def strip_reuse_config(cfg: Config) -> Config:
    """The plain upstream config of a MaskAnyNet config.

    Args:
        cfg (Config): A MaskAnyNet config whose fusion can be stripped
            (:func:`check_strippable`).

    Returns:
        Config: The same config with the upstream backbone (its reuse
        arguments and checkpoint removed), the upstream data preprocessor
        (its masking arguments removed), no reuse-view transform and no
        ``mmmaskreuse`` import. A ValueError if an ``mmmaskreuse`` type is
        left (a hook, a dataset...), naming its key.
    """
    check_strippable(cfg)
    plain = copy.deepcopy(cfg.to_dict())
    plain = _drop_reuse_transforms(plain)
    backbone = plain['model']['backbone']
    reuse_args = REUSE_ARGS
    if _short(backbone['type']) == ANY_BACKBONE:
        backbone = plain['model']['backbone'] = dict(backbone['backbone'])
        reuse_args = ('pretrained', 'init_cfg')  # the others are upstream's
    else:
        backbone['type'] = PLAIN_BACKBONES[_short(backbone['type'])]
    for key in reuse_args:
        backbone.pop(key, None)
    plain['model'].pop('pretrained', None)  # mmseg's way to the backbone's
    for owner in (plain, plain['model']):
        if 'data_preprocessor' in owner and str(
                owner['data_preprocessor'].get('type')).startswith(SCOPE):
            owner['data_preprocessor'] = _upstream_preprocessor(
                owner['data_preprocessor'])
    imports = plain.get('custom_imports', {}).get('imports', [])
    if isinstance(imports, str):
        imports = [imports]
    imports = [name for name in imports if not name.startswith('mmmaskreuse')]
    if imports:
        plain['custom_imports']['imports'] = imports
    else:
        plain.pop('custom_imports', None)
    plain['load_from'] = None
    left = [
        path for path, value in _walk(plain)
        if isinstance(value, str) and value.startswith(SCOPE)
    ]
    if left:
        raise ValueError(
            f'strip_reuse: {left[0]} is {_value_at(plain, left[0])!r}, which '
            'only mmmaskreuse provides; set it to an upstream type (e.g. with '
            '--cfg-options) before stripping')
    return Config(plain)


def _value_at(tree: Any, path: str) -> Any:
    return dict(_walk(tree))[path]


def strip_reuse_state_dict(cfg: Config,
                           state_dict: Dict[str, Any]) -> Dict[str, Any]:
    """The weights of the plain model of :func:`strip_reuse_config`.

    The plain model is built to list its weights: every one must come from
    ``state_dict``, and every weight left out must be one of the backbone's
    reuse modules (``backbone.reuse_*``: the reuse stem or patch embedding
    and the fusion), or a ValueError names them.

    Args:
        cfg (Config): The MaskAnyNet config.
        state_dict (dict): Its model's weights.

    Returns:
        dict: The plain model's weights, the same tensors.
    """
    from mmmaskreuse.engine import build_model
    plain_keys = list(build_model(strip_reuse_config(cfg)).state_dict())
    missing = sorted(set(plain_keys) - set(state_dict))
    extra = sorted(key for key in set(state_dict) - set(plain_keys)
                   if not key.startswith('backbone.reuse_'))
    if missing or extra:
        raise ValueError(
            'strip_reuse: the checkpoint does not match the config: '
            f'missing for the plain model {missing[:5]}, '
            f'neither a plain nor a reuse weight {extra[:5]}')
    return {key: state_dict[key] for key in plain_keys}


def strip_reuse(cfg: Config,
                checkpoint: Dict[str, Any]) -> Tuple[Config, Dict[str, Any]]:
    """A MaskAnyNet config and checkpoint as the plain upstream model's.

    Args:
        cfg (Config): The MaskAnyNet config.
        checkpoint (dict): Its checkpoint (``state_dict``, ``meta``) or a
            bare state dict.

    Returns:
        tuple[Config, dict]: The plain config and a checkpoint of plain
        types (``state_dict``; ``meta`` with the dataset's ``dataset_meta``
        and where it came from), loadable with ``weights_only=True``.
    """
    state_dict = checkpoint.get('state_dict', checkpoint)
    meta = {}
    source_meta = checkpoint.get('meta') if 'state_dict' in checkpoint \
        else None
    if isinstance(source_meta, dict) and 'dataset_meta' in source_meta:
        meta['dataset_meta'] = copy.deepcopy(source_meta['dataset_meta'])
    backbone = _backbone_cfg(cfg)
    meta['stripped_reuse'] = dict(
        backbone=_short(backbone['type']),
        fusion=backbone.get('fusion', 'concat'),
        reuse_drop_prob=float(backbone.get('reuse_drop_prob', 0.)))
    plain_cfg = strip_reuse_config(cfg)
    return plain_cfg, dict(meta=meta,
                           state_dict=strip_reuse_state_dict(cfg, state_dict))
