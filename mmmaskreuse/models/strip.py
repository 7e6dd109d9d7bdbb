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

The checkpoint's own training config (``meta['cfg']``, which mmengine's
Runner saves) decides, not the config given: a backbone type, fusion, mask
ratio or reuse dropout that contradicts it is refused, naming both values
(a ``concat`` model and a ``residual`` one have the same weights, so
nothing else would tell them apart). A model trained without reuse dropout
never ran as the plain model, which then scores what ``reuse_at_test=drop``
scores, often far below the model with its branch: it is refused unless
forced (``force_untrained_drop``).
"""
import copy
import inspect
from typing import Any, Dict, Iterator, Optional, Tuple

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
    fusion = _setting(backbone, 'fusion')
    if fusion not in DROPPABLE_FUSIONS:
        reason = WHY_NOT.get(fusion, 'it is not a known fusion')
        raise ValueError(
            f'strip_reuse: model.backbone.fusion={fusion!r} cannot be '
            f'stripped exactly: {reason}. Only fusion in {DROPPABLE_FUSIONS} '
            'is exactly the plain backbone without the reuse branch (train '
            "with fusion='residual' and reuse_drop_prob > 0 to deploy "
            'a plain backbone)')
    return fusion


#: the backbone settings a checkpoint's training config decides: what the
#: weights are (a ``concat`` and a ``residual`` fusion have the same ones)
#: and whether the model trained to run without its branch
TRAINED_SETTINGS = ('type', 'fusion', 'mask_ratio', 'reuse_drop_prob')


def _setting(backbone: dict, key: str) -> Any:
    """``backbone[key]``, else the default of the backbone's constructor
    (the first class of its MRO whose ``__init__`` names ``key``: MaskResNetV1c
    passes ``fusion`` on to MaskResNet in ``**kwargs``)."""
    if key == 'type':
        return _short(backbone.get('type'))
    if key in backbone:
        value = backbone[key]
    else:
        from mmmaskreuse.registry import MODELS
        value = next(
            parameter.default
            for cls in MODELS.get(_short(backbone['type'])).__mro__
            for parameter in [inspect.signature(cls.__init__).parameters.get(
                key)]
            if parameter is not None
            and parameter.default is not parameter.empty)
    return float(value) if key in ('mask_ratio', 'reuse_drop_prob') else value


def trained_config(checkpoint: Dict[str, Any]) -> Optional[Config]:
    """The config a checkpoint's training run saved in its ``meta``
    (``meta['cfg']``, the text mmengine's Runner writes), or None if it
    holds none (a bare state dict, a converted checkpoint).

    Raises:
        ValueError: The saved text is not a config that reads.
    """
    meta = checkpoint.get('meta') if 'state_dict' in checkpoint else None
    text = meta.get('cfg') if isinstance(meta, dict) else None
    if not isinstance(text, str):
        return None
    try:
        return Config.fromstring(text, '.py')
    except Exception as error:
        raise ValueError(
            'strip_reuse: the training config saved in the checkpoint '
            f"(meta['cfg']) does not read as a config: {error}") from None


def check_trained_as(cfg: Config, trained: Config) -> None:
    """A ValueError naming both values if ``cfg``'s backbone differs from
    the one ``trained`` (the checkpoint's training config) built in a
    setting of :data:`TRAINED_SETTINGS`.

    Args:
        cfg (Config): The MaskAnyNet config given, with its overrides.
        trained (Config): The config the checkpoint trained with.
    """
    ours = _backbone_cfg(cfg)
    theirs = trained.get('model', {}).get('backbone') or {}
    for key in TRAINED_SETTINGS:
        given = _setting(ours, key)
        used = _setting(theirs, key)
        if given != used:
            raise ValueError(
                f'strip_reuse: model.backbone.{key} is {given!r} in the '
                f'config given (with its --cfg-options), but the checkpoint '
                f'trained with {key}={used!r} (the config saved in its '
                "meta['cfg']): strip it with the settings it trained with")


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
    ``state_dict`` in its shape, and every weight left out must be one of
    the backbone's reuse modules (``backbone.reuse_*``: the reuse stem or
    patch embedding and the fusion), or a ValueError names them.

    Args:
        cfg (Config): The MaskAnyNet config.
        state_dict (dict): Its model's weights.

    Returns:
        dict: The plain model's weights, the same tensors.
    """
    from mmmaskreuse.engine import WeightMismatch, build_model, weight_mismatch
    plain = build_model(strip_reuse_config(cfg))
    mismatch = weight_mismatch(plain, state_dict)
    mismatch = WeightMismatch(
        missing=mismatch.missing,
        unexpected=[key for key in mismatch.unexpected
                    if not key.startswith('backbone.reuse_')],
        mis_shaped=mismatch.mis_shaped)
    if mismatch:
        raise ValueError('strip_reuse: ' + mismatch.describe(
            'the checkpoint', 'the plain config') + ' (beside the reuse '
            'branch, backbone.reuse_*)')
    return {key: state_dict[key] for key in plain.state_dict()}


def strip_reuse(cfg: Config,
                checkpoint: Dict[str, Any],
                force_untrained_drop: bool = False
                ) -> Tuple[Config, Dict[str, Any]]:
    """A MaskAnyNet config and checkpoint as the plain upstream model's.

    Args:
        cfg (Config): The MaskAnyNet config.
        checkpoint (dict): Its checkpoint (``state_dict``, ``meta``) or a
            bare state dict. If its ``meta`` holds the training config
            (:func:`trained_config`), ``cfg`` must agree with it
            (:func:`check_trained_as`).
        force_untrained_drop (bool): Strip a model that trained without
            reuse dropout (``reuse_drop_prob=0``), which never ran as the
            plain model. Defaults to False: a ValueError says so.

    Returns:
        tuple[Config, dict]: The plain config and a checkpoint of plain
        types (``state_dict``; ``meta`` with the dataset's ``dataset_meta``
        and, in ``stripped_reuse``, where it came from and whether its
        training config was checked), loadable with ``weights_only=True``.
    """
    check_strippable(cfg)
    trained = trained_config(checkpoint)
    if trained is not None:
        check_trained_as(cfg, trained)
    backbone = _backbone_cfg(cfg)
    reuse_drop_prob = _setting(backbone, 'reuse_drop_prob')
    if reuse_drop_prob == 0 and not force_untrained_drop:
        where = ('trained' if trained is not None else
                 'is configured (the checkpoint holds no training config)')
        raise ValueError(
            f'strip_reuse: the model {where} with reuse_drop_prob=0: it '
            'never ran without its reuse branch, and the plain model scores '
            "what reuse_at_test='drop' scores, often far below the model "
            'with its branch. Train with model.backbone.reuse_drop_prob > 0 '
            'to deploy a plain backbone, or force it (--force-untrained-drop'
            ', force_untrained_drop=True)')
    state_dict = checkpoint.get('state_dict', checkpoint)
    meta = {}
    source_meta = checkpoint.get('meta') if 'state_dict' in checkpoint \
        else None
    if isinstance(source_meta, dict) and 'dataset_meta' in source_meta:
        meta['dataset_meta'] = copy.deepcopy(source_meta['dataset_meta'])
    meta['stripped_reuse'] = dict(
        backbone=_short(backbone['type']),
        fusion=_setting(backbone, 'fusion'),
        reuse_drop_prob=reuse_drop_prob,
        trained_config_checked=trained is not None)
    plain_cfg = strip_reuse_config(cfg)
    return plain_cfg, dict(meta=meta,
                           state_dict=strip_reuse_state_dict(cfg, state_dict))
