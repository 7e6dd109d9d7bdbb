"""MaskAnyNet on any backbone, by config (see :mod:`.maskanynet_base`)."""
import copy
import inspect
import math
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.registry import MODELS as ROOT_MODELS
from torch.nn.modules.utils import _pair

from mmmaskreuse.masking import reuse_size
from mmmaskreuse.registry import MODELS
from .fusion import ReuseFusion
from .maskanynet_base import StemReuseMixin

REUSE_STEM_KINDS = ('auto', 'copy', 'conv')
# the layers whose stride a reuse stem copied from the stem can divide
STRIDED_LAYERS = (nn.modules.conv._ConvNd, nn.modules.pooling._MaxPoolNd,
                  nn.modules.pooling._AvgPoolNd)


class _FusionPointReached(Exception):
    """Ends the build-time probe of the stem at the fusion point."""

    def __init__(self, features):
        super().__init__()
        self.features = features


@MODELS.register_module()
class MaskAnyBackbone(StemReuseMixin, nn.Module):
    """MaskAnyNet on any registered backbone: a reuse branch fused after
    the module that ends its stem, given by config.

    ``MaskAnyBackbone(backbone=dict(type='RegNet', ...), fuse_after='relu')``
    builds an instance of ``MaskAnyRegNet``, a subclass of the upstream
    class made for it (once per class), so the model *is* the upstream
    backbone: its ``forward``, its freezing and its state-dict keys, so
    that a checkpoint of the plain backbone loads into the primary path
    unchanged (an ``init_cfg`` in ``backbone`` too). Only ``reuse_stem.*``
    and ``reuse_fusion.*`` are added. The fusion is the one every MaskAnyNet
    backbone uses: a forward hook (a forward pre-hook with ``fuse_before``)
    and :class:`ReuseFusion`, so every ``fusion``, ``reuse_at_test`` mode,
    reuse dropout, ``freeze_reuse`` and ``tools/model_converters/
    strip_reuse.py`` work as for :class:`MaskConvNeXt`.

    The stem is found by running the backbone once at build time on a
    probe image up to the fusion point: the modules that ran up to there,
    outermost first (``conv1``, ``norm1``, ``relu`` for a ResNet-like
    stem). The reuse stem is

    - ``'copy'``: a copy of those modules (the stem module itself when it is
      one), checked to compute the stem's features on the probe, whose
      last strided convolutions or poolings get their stride divided by
      ``1 / sqrt(mask_ratio)`` (2 at 25 %: the H/2 reuse image then
      reaches the stem's feature map); a patchify layer (kernel = stride)
      gets its kernel divided too. A checkpoint without a reuse stem (the
      plain backbone's) fills it with the stem's weights where the shapes
      are the same, as :class:`MaskResNet` does.
    - ``'conv'``: a small stem of 3x3 conv-BN-ReLU layers, stride 2 each
      (or one of stride 1), from the image's channels to the stem's: for
      stems that are no chain of modules (a space-to-depth ``Focus``,
      functional steps between modules) or have no stride to divide.

    ``reuse_stem_kind='auto'`` copies where it can, else builds the conv
    stem. Channels and strides are read from the probe, never typed. A
    fusion point that gives no ``[B, C, H, W]`` map, or whose stride the
    reuse image cannot reach (a stride-1 stem at 25 %), stops the build with
    an error naming the module, the shapes and the setting to change. At
    mask ratios that are not ``1 / n**2`` the reuse map is resized
    bilinearly to the stem's by :class:`ReuseFusion`, as for
    :class:`MaskEfficientNetV2`.

    ``freeze_reuse``: the reuse branch is frozen (its parameters and norm
    statistics) when upstream's freezing (``frozen_stages``) froze every
    parameter of the stem.

    Our own classes stay classes where the fusion is not a feature map
    after a stem: :class:`MaskResNet` (image- and decision-level fusion, a
    second trunk), :class:`MaskViT` and :class:`MaskSwin` (a patch
    embedding's tokens and grid). :class:`MaskConvNeXt` and
    :class:`MaskEfficientNetV2` compute what this wrapper computes on
    their upstream class with the same state dict (tested), and stay
    classes for the configs and checkpoints that name them.

    A limit of the subclass: upstream code that checks ``type(self) is
    Upstream`` (mmpretrain's conversion of old Swin checkpoints) does not
    fire for it, as for any subclass.

    Args:
        backbone (dict): Config of the backbone, as it would be given to
            ``model.backbone`` without MaskAnyNet (``type`` resolved in the
            config's default scope, or scoped: ``'mmdet.CSPDarknet'``).
        fuse_after (str, optional): Name of the module after which the
            reuse features are fused (``nn.Module.get_submodule``): the
            last module of the stem (``'relu'`` for RegNet, ``'conv1'``
            for MobileNetV2, ``'maxpool'`` for ResNeXt).
        fuse_before (str, optional): Name of the module at whose input the
            reuse features are fused: the first stage (``'layer1'`` for
            HRNet). Give ``fuse_after`` or ``fuse_before``, not both.
        reuse_stem_kind (str): ``'auto'``, ``'copy'`` or ``'conv'`` (see
            above). Defaults to ``'auto'``.
        probe_size (int, optional): Side of the probe image. Defaults to
            ``32 * max(2, round(1 / sqrt(mask_ratio)))`` (64 at 25 %).
        **kwargs: The reuse arguments of :class:`MaskConvNeXt`:
            ``fusion``, ``mask_ratio``, ``reuse_at_test``, ``freeze_reuse``,
            ``alignment_cfg`` (defaults to BN, ReLU and no activation after
            the last layer) and ``reuse_drop_prob``.
    """
    reuse_modules = ('reuse_stem', 'reuse_fusion')
    # until the reuse branch is built: upstream's constructor may call
    # ``train`` or ``_freeze_stages``, which read them
    _stem_names: Tuple[str, ...] = ()
    _fresh_norms = frozenset()

    def __new__(cls, *args, **kwargs):
        if cls is MaskAnyBackbone:  # built from a config: make the subclass
            cls = _with_reuse(_upstream_class(
                kwargs['backbone'] if 'backbone' in kwargs else args[0]))
        # an instance of the subclass, which Python then initialises with
        # the same arguments (its __init__ is this class's)
        return super().__new__(cls)

    def __init__(self,
                 backbone: dict,
                 fuse_after: Optional[str] = None,
                 fuse_before: Optional[str] = None,
                 reuse_stem_kind: str = 'auto',
                 probe_size: Optional[int] = None,
                 **kwargs) -> None:
        name = type(self).__name__
        if (fuse_after is None) == (fuse_before is None):
            raise ValueError(
                f'{name}: give fuse_after (the module that ends the stem) '
                'or fuse_before (the first stage), exactly one, got '
                f'fuse_after={fuse_after!r}, fuse_before={fuse_before!r}')
        if reuse_stem_kind not in REUSE_STEM_KINDS:
            raise ValueError(f'{name}: reuse_stem_kind must be one of '
                             f'{REUSE_STEM_KINDS}, got {reuse_stem_kind!r}')
        self.fusion_point = fuse_after or fuse_before
        self.fuse_at_input = fuse_before is not None
        self.reuse_stem_kind = reuse_stem_kind
        self.probe_size = probe_size
        upstream_kwargs = {
            key: value
            for key, value in backbone.items()
            if key not in ('type', '_scope_')
        }
        self.image_channels = upstream_kwargs.get('in_channels', 3)
        super().__init__(**upstream_kwargs, **kwargs)

    def _reuse_is_frozen(self) -> bool:
        params = [
            param for name in self._stem_names
            for param in self.get_submodule(name).parameters()
        ]
        return bool(params) and not any(p.requires_grad for p in params)

    def _build_reuse_branch(self, alignment_cfg: dict) -> None:
        name = type(self).__name__
        try:
            point = self.get_submodule(self.fusion_point)
        except AttributeError:
            setting = 'fuse_before' if self.fuse_at_input else 'fuse_after'
            raise ValueError(
                f'{name}: {setting}={self.fusion_point!r} is no module of '
                'the backbone, whose top modules are '
                f'{[n for n, _ in self.named_children()]}') from None
        scale = 1 / math.sqrt(self.mask_ratio)  # 2 at 25 %
        factor = round(scale)
        size = self.probe_size or 32 * max(2, factor)
        probe = torch.randn(1, self.image_channels, size, size,
                            generator=torch.Generator().manual_seed(0))
        stem_names, features = self._probe_stem(point, probe)
        reuse_side = reuse_size(size, size, self.mask_ratio)[0]
        reuse_probe = probe[..., :reuse_side, :reuse_side]
        stride = size / features.shape[-1]
        if features.shape[-2] != features.shape[-1] or stride < factor \
                or round(stride) % factor:
            raise ValueError(
                f'{name}: {self._where()} outputs a feature map of '
                f'{tuple(features.shape[1:])} for a probe image of '
                f'{tuple(probe.shape[1:])} (stride {stride:g}), and no '
                'reuse stem reaches it from the reuse image of '
                f'{tuple(reuse_probe.shape[1:])} (mask_ratio='
                f'{self.mask_ratio}) by dividing that stride by {factor}: '
                f'fuse after a module of stride {factor} or more (set '
                'fuse_after or fuse_before), or change mask_ratio')
        self._stem_names = tuple(dict.fromkeys(stem_names))
        self.stem_name = stem_names[0]  # for layer-wise lr decay
        self.reuse_stem, self._stem_keys = None, {}
        if self.reuse_stem_kind != 'conv':
            self.reuse_stem, self._stem_keys = self._copy_stem(
                stem_names, probe, features, factor)
            if self.reuse_stem is None and self.reuse_stem_kind == 'copy':
                raise ValueError(
                    f'{name}: the stem before {self._where()} ({stem_names}) '
                    f'cannot be copied with its stride divided by {factor} '
                    '(it is no chain of modules, or its strides are not in '
                    "convolutions or poolings): set reuse_stem_kind='conv' "
                    "(or 'auto')")
        #: whether the reuse stem is a copy of the stem (else the conv stem)
        self.reuse_stem_copied = self.reuse_stem is not None
        if self.reuse_stem is None:
            self.reuse_stem = conv_stem(self.image_channels,
                                        features.shape[1],
                                        round(stride) // factor)
        with torch.no_grad(), _eval_mode(self.reuse_stem):
            reused = self.reuse_stem(reuse_probe)
        # at ratios other than 1 / n**2 ReuseFusion resizes the reuse map
        if math.isclose(scale, factor) and reused.shape != features.shape:
            raise ValueError(
                f'{name}: the reuse stem maps the reuse image of '
                f'{tuple(reuse_probe.shape[1:])} to '
                f'{tuple(reused.shape[1:])}, but {self._where()} outputs '
                f'{tuple(features.shape[1:])}: set fuse_after or '
                "fuse_before to another module, or reuse_stem_kind='conv'")
        self.reuse_fusion = ReuseFusion(features.shape[1], self.fusion,
                                        alignment_cfg)
        if self.fuse_at_input:
            point.register_forward_pre_hook(self._fuse_reuse_input)
        else:
            point.register_forward_hook(self._fuse_reuse_features)

    def _where(self) -> str:
        if self.fuse_at_input:
            return f'the input of {self.fusion_point!r}'
        return repr(self.fusion_point)

    def _probe_stem(self, point: nn.Module,
                    probe: torch.Tensor) -> Tuple[List[str], torch.Tensor]:
        """Run upstream's ``forward`` on ``probe`` up to the fusion point.

        Returns:
            tuple[list[str], Tensor]: The modules that ran before, outermost
            first, in the order they ran (a module run twice is named
            twice); the features at the fusion point ``[1, C, h, w]``.
        """
        ran = []

        def record(module, args, output, name):
            ran.append(name)

        def stop(module, args, output=None):
            raise _FusionPointReached(args[0] if output is None else output)

        handles = [
            module.register_forward_hook(
                lambda module, args, output, name=name: record(
                    module, args, output, name))
            for name, module in self.named_modules() if name
        ]
        # after ``record``: the fusion point itself counts as run
        handles.append(
            point.register_forward_pre_hook(stop) if self.fuse_at_input else
            point.register_forward_hook(stop))
        features = None
        try:
            with torch.no_grad(), _eval_mode(self):
                # upstream's forward: ours fuses, and needs the branch
                super(StemReuseMixin, self).forward(probe)
        except _FusionPointReached as reached:
            features = reached.features
        finally:
            for handle in handles:
                handle.remove()
        if features is None:
            raise ValueError(
                f'{type(self).__name__}: {self._where()} never ran in the '
                "backbone's forward: set fuse_after or fuse_before to a "
                'module it runs')
        if not torch.is_tensor(features) or features.dim() != 4:
            found = type(features).__name__ if not torch.is_tensor(
                features) else f'a tensor of {tuple(features.shape)}'
            raise ValueError(
                f'{type(self).__name__}: {self._where()} is {found}, not a '
                '[B, C, H, W] feature map: set fuse_after or fuse_before to a '
                'module whose output is one (MaskViT and MaskSwin fuse '
                "patch tokens)")
        stem = [
            name for name in ran
            if not any(name.startswith(other + '.') for other in ran)
        ]
        return stem, features

    def _copy_stem(self, stem_names: List[str], probe: torch.Tensor,
                   features: torch.Tensor,
                   factor: int) -> Tuple[Optional[nn.Module], Dict[str, str]]:
        """The stem's modules copied, strides divided by ``factor``, and
        ``{stem weight prefix: reuse stem weight prefix}`` where the copy
        has the stem's shapes; ``(None, {})`` where no copy computes the
        stem."""
        copies = [copy.deepcopy(self.get_submodule(n)) for n in stem_names]
        for param in (p for module in copies for p in module.parameters()):
            # upstream may have frozen the stem: freeze_reuse decides here
            param.requires_grad_(True)
        with torch.no_grad(), _eval_mode(*copies):
            x = probe.clone()
            try:
                for module in copies:
                    x = module(x)
            except Exception:  # noqa: BLE001  a module that takes more
                return None, {}
        if not (torch.is_tensor(x) and x.shape == features.shape
                and torch.equal(x, features)):
            return None, {}
        if len(copies) == 1:
            keys = ['']
            stem = copies[0]
        else:
            keys = []
            for name in stem_names:
                key = name.replace('.', '_')
                keys.append(f'{key}_{keys.count(key)}' if key in keys else key)
            stem = nn.Sequential(OrderedDict(zip(keys, copies)))
        if not divide_stride(stem, factor):
            return None, {}
        stem_keys = {}
        for name, key, module in zip(stem_names, keys, copies):
            # a module the stem runs twice fills its first copy only
            if _same_shapes(self.get_submodule(name), module):
                stem_keys.setdefault(
                    f'{name}.', f'reuse_stem.{key}.' if key else 'reuse_stem.')
        return stem, stem_keys

    def _fuse_reuse_input(self, module, args):
        """Forward pre-hook of ``fuse_before``: its input with the reuse
        features fused in (once per ``forward``)."""
        fused = self._fuse_reuse_features(module, args, args[0])
        return None if fused is None else (fused, *args[1:])

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        self._init_reuse_stem_from_stem(state_dict, prefix, self._stem_keys)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def _same_shapes(module: nn.Module, other: nn.Module) -> bool:
    ours, theirs = module.state_dict(), other.state_dict()
    return ours.keys() == theirs.keys() and all(
        ours[key].shape == theirs[key].shape for key in ours)


class _eval_mode:
    """Modules in eval mode inside the block, their own modes after."""

    def __init__(self, *modules: nn.Module) -> None:
        self.modes = [(m, m.training) for module in modules
                      for m in module.modules()]

    def __enter__(self):
        for module, _ in self.modes:
            module.training = False

    def __exit__(self, *exc_info):
        for module, training in self.modes:
            module.training = training


def divide_stride(stem: nn.Module, factor: int) -> bool:
    """Divide the total stride of ``stem`` by ``factor``, in place, from
    its last strided convolution or pooling backwards (the cheapest place:
    the layers before still run at low resolution). A patchify layer
    (kernel = stride, no padding) gets its kernel divided too, and a new
    init.

    Returns:
        bool: Whether the whole factor was divided out.
    """
    for layer in reversed(list(stem.modules())):
        if factor == 1:
            break
        if not isinstance(layer, STRIDED_LAYERS):
            continue
        stride = _pair(layer.stride)
        step = math.gcd(stride[0], factor)
        if len(set(stride)) != 1 or step == 1:
            continue
        patchify = _pair(layer.kernel_size) == stride and not any(
            _pair(layer.padding))
        layer.stride = (stride[0] // step, ) * len(stride) if isinstance(
            layer.stride, tuple) else stride[0] // step
        if patchify:
            layer.kernel_size = layer.stride
            if isinstance(layer, nn.modules.conv._ConvNd):
                layer.weight = nn.Parameter(
                    layer.weight.new_empty(*layer.weight.shape[:2],
                                           *_pair(layer.kernel_size)))
                layer.reset_parameters()
        factor //= step
    return factor == 1


def conv_stem(in_channels: int, channels: int, stride: int) -> nn.Sequential:
    """``[B, in_channels, h, w] -> [B, channels, h / stride, w / stride]``:
    3x3 conv-BN-ReLU layers of stride 2 (one of stride 1 for
    ``stride=1``; one patchify layer for a stride that is no power of 2)."""
    if stride & (stride - 1):
        return nn.Sequential(
            ConvModule(in_channels, channels, stride, stride=stride,
                       norm_cfg=dict(type='BN')))
    strides = [2] * int(math.log2(stride)) or [1]
    return nn.Sequential(*[
        ConvModule(in_channels if i == 0 else channels,
                   channels,
                   3,
                   stride=s,
                   padding=1,
                   norm_cfg=dict(type='BN')) for i, s in enumerate(strides)
    ])


def _upstream_class(backbone: dict) -> type:
    """The class ``backbone['type']`` names, resolved as building it would
    be: in the default scope, or in the scope its name gives."""
    if not isinstance(backbone, dict) or 'type' not in backbone:
        raise ValueError('MaskAnyBackbone: backbone must be a config dict '
                         f'with a type, got {backbone!r}')
    type_name = backbone['type']
    if inspect.isclass(type_name):
        upstream = type_name
    else:
        with ROOT_MODELS.switch_scope_and_registry(
                backbone.get('_scope_')) as registry:
            upstream = registry.get(type_name)
        if upstream is None:
            raise ValueError(
                f'MaskAnyBackbone: backbone type {type_name!r} is not '
                f'registered in scope {registry.scope!r}: give its scope '
                "(e.g. 'mmpretrain.RegNet', 'mmdet.CSPDarknet') or import "
                'the module that registers it (custom_imports)')
    if not (inspect.isclass(upstream) and issubclass(upstream, nn.Module)):
        raise ValueError(f'MaskAnyBackbone: backbone type {type_name!r} is '
                         f'{upstream!r}, not an nn.Module class')
    if getattr(upstream, 'takes_masked_inputs', False):
        raise ValueError(f'MaskAnyBackbone: {upstream.__name__} already has '
                         'a reuse branch: give its upstream backbone')
    return upstream


_SUBCLASSES: Dict[type, type] = {}


def _with_reuse(upstream: type) -> type:
    """``MaskAny<Upstream>``: :class:`MaskAnyBackbone` and ``upstream``,
    made once per upstream class."""
    if upstream not in _SUBCLASSES:
        _SUBCLASSES[upstream] = type(
            f'MaskAny{upstream.__name__}', (MaskAnyBackbone, upstream),
            dict(__module__=__name__,
                 __doc__=f'{upstream.__name__} with a MaskAnyNet reuse branch '
                 '(:class:`MaskAnyBackbone`).'))
    return _SUBCLASSES[upstream]
