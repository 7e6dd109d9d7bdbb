"""MaskAnyNet backbones: masked image and reuse image, two branches, fused.

In training the data preprocessor hands the backbone a
:class:`~mmmaskreuse.masking.MaskedInputs` pair. The primary branch (the
stem of the usual backbone, module names unchanged so ImageNet checkpoints
load) embeds the masked image ``[B, 3, H, W]``; the auxiliary branch embeds
the reuse image ``[B, 3, h, w]`` (``h = H * sqrt(mask_ratio)``, H/2 at 25 %)
with one stride-2 step fewer, so both feature maps have the same size. The
two are fused and the rest of the backbone runs unchanged.

``fusion`` picks where (the paper's ablation):

- ``'concat'`` (default): feature level, right after the stem (after the
  max-pool for ResNet, after patch embedding for ViT/Swin):
  ``concat -> FeatureAlignment`` (3 conv-norm-act layers back to C channels).
- ``'add'``: feature level, ``primary + reuse``, as in the authors' code.
- ``'image'`` (ResNet only): the reuse image upsampled to ``H x W`` and
  concatenated to the masked image as 3 more input channels.
- ``'decision'`` (ResNet only): a second full ResNet on the reuse image;
  every output is ``concat(primary, reuse)``, so the head sees 2C channels
  and the backbone has about twice the parameters.

Outside training the backbone takes a plain image batch (evaluation batches
are never masked) and, with ``reuse_at_test='downsample'``, gives the
auxiliary branch the whole image resized to the reuse size; with ``'off'``
the auxiliary branch is skipped (feature-level fusion passes the primary
features through; image and decision level get zeros).
"""
import math
import os.path as osp
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmcv.cnn.bricks.transformer import PatchEmbed
from mmengine.model import BaseModule
from mmpretrain.models.backbones import (ResNet, ResNet_CIFAR,
                                         SwinTransformer, VisionTransformer)
from mmpretrain.models.utils import resize_pos_embed

from mmmaskreuse.masking import MaskedInputs, resize_image, reuse_size
from mmmaskreuse.registry import MODELS

FEATURE_FUSIONS = ('concat', 'add')
RESNET_FUSIONS = FEATURE_FUSIONS + ('image', 'decision')
REUSE_AT_TEST = ('downsample', 'off')
PREPROCESSORS = ('mmmaskreuse.MaskReuseClsDataPreprocessor (classification), '
                 'mmmaskreuse.MaskReuseDetDataPreprocessor (detection) or '
                 'mmmaskreuse.MaskReuseSegDataPreprocessor (segmentation)')


class FeatureAlignment(BaseModule):
    """Feature Alignment Module: concatenated features back to C channels.

    ``[B, 2C, H, W] -> conv-norm-act x len(kernel_sizes) -> [B, C, H, W]``.
    The paper fixes three layers but not their shapes; the default is a
    light 1x1-3x3-1x1 bottleneck of width C/2.

    Args:
        channels (int): C, channels of each branch and of the output.
        hidden_channels (int, optional): Width between the layers.
            Defaults to ``channels // 2``.
        kernel_sizes (Sequence[int]): Odd kernel size of each layer.
            Defaults to (1, 3, 1).
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation config. Defaults to ``dict(type='ReLU')``.
        last_act (bool): Whether the last layer has an activation. Defaults
            to True (conv-norm-act, as the paper says); the transformer
            backbones turn it off because token embeddings are signed.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 channels: int,
                 hidden_channels: Optional[int] = None,
                 kernel_sizes: Sequence[int] = (1, 3, 1),
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 last_act: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        hidden_channels = hidden_channels or max(channels // 2, 1)
        if not kernel_sizes or any(
                not isinstance(k, int) or k < 1 or k % 2 == 0
                for k in kernel_sizes):
            raise ValueError('kernel_sizes must be odd positive ints, got '
                             f'{kernel_sizes!r}')
        widths = [2 * channels] + [hidden_channels] * (
            len(kernel_sizes) - 1) + [channels]
        self.layers = nn.Sequential(*[
            ConvModule(widths[i],
                       widths[i + 1],
                       k,
                       padding=k // 2,
                       norm_cfg=norm_cfg,
                       act_cfg=act_cfg if last_act
                       or i < len(kernel_sizes) - 1 else None)
            for i, k in enumerate(kernel_sizes)
        ])

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)


class ReuseFusion(BaseModule):
    """Fuse the reuse branch's feature map into the primary one.

    A reuse map of another size (CIFAR stems have no stride-2 step to drop;
    odd padded sizes round differently) is resized bilinearly to the
    primary map first.

    Args:
        channels (int): C of both maps.
        mode (str): ``'concat'`` (concat + :class:`FeatureAlignment`) or
            ``'add'``. Defaults to ``'concat'``.
        alignment_cfg (dict): Arguments of :class:`FeatureAlignment`.
    """

    def __init__(self,
                 channels: int,
                 mode: str = 'concat',
                 alignment_cfg: dict = dict()) -> None:
        super().__init__()
        if mode not in FEATURE_FUSIONS:
            raise ValueError(f'fusion mode must be one of {FEATURE_FUSIONS}, '
                             f'got {mode!r}')
        self.mode = mode
        self.alignment = FeatureAlignment(
            channels, **alignment_cfg) if mode == 'concat' else None

    def forward(self, primary: torch.Tensor,
                reuse: torch.Tensor) -> torch.Tensor:
        reuse = _resize_like(reuse, primary, 'bilinear')
        if self.alignment is None:
            return primary + reuse
        return self.alignment(torch.cat([primary, reuse], dim=1))


def _resize_like(x: torch.Tensor, ref: torch.Tensor,
                 mode: str) -> torch.Tensor:
    if x.shape[-2:] == ref.shape[-2:]:
        return x
    kwargs = dict(align_corners=False) if mode == 'bilinear' else {}
    return F.interpolate(x, size=ref.shape[-2:], mode=mode, **kwargs)


def _fuse_tokens(fusion: ReuseFusion, tokens: torch.Tensor,
                 reuse_tokens: torch.Tensor, grid: Tuple[int, int],
                 reuse_grid: Tuple[int, int]) -> torch.Tensor:
    """:class:`ReuseFusion` on patch tokens [B, N, C] laid out on ``grid``."""

    def as_map(x, hw):
        return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], *hw)

    fused = fusion(as_map(tokens, grid), as_map(reuse_tokens, reuse_grid))
    return fused.flatten(2).transpose(1, 2)


def _reuse_patch_embed(primary: PatchEmbed, scale: float) -> PatchEmbed:
    """A patch embedding like ``primary`` with ``scale`` times its patch
    size, so the reuse image gives the same token grid."""
    conv = primary.projection
    kernel, stride = conv.kernel_size[0] * scale, conv.stride[0] * scale
    if kernel != int(kernel) or stride != int(stride):
        raise ValueError(
            f'patch size {conv.kernel_size[0]} x sqrt(mask_ratio) = {kernel} '
            'must be an integer for the reuse patch embedding')
    norm_cfg = None
    if primary.norm is not None:
        norm_cfg = dict(type='LN', eps=primary.norm.eps)
    return PatchEmbed(in_channels=conv.in_channels,
                      embed_dims=conv.out_channels,
                      kernel_size=int(kernel),
                      stride=int(stride),
                      bias=conv.bias is not None,
                      norm_cfg=norm_cfg)


class _MaskAnyNetMixin:
    """Argument checks, input unpacking and freezing shared by the
    MaskAnyNet backbones. ``takes_masked_inputs`` marks them for
    :func:`mmmaskreuse.models.check_masked_pairing`."""

    takes_masked_inputs = True

    def _check_reuse_args(self,
                          fusion: str,
                          fusions: Sequence[str],
                          mask_ratio: float,
                          reuse_at_test: str,
                          freeze_reuse: bool = True) -> None:
        if fusion not in fusions:
            raise ValueError(f'{type(self).__name__}: fusion must be one of '
                             f'{tuple(fusions)}, got {fusion!r}')
        if not isinstance(mask_ratio, (int, float)) or not 0 < mask_ratio < 1:
            raise ValueError(f'{type(self).__name__}: mask_ratio must be in '
                             f'(0, 1), got {mask_ratio!r}')
        if reuse_at_test not in REUSE_AT_TEST:
            raise ValueError(f'{type(self).__name__}: reuse_at_test must be '
                             f'one of {REUSE_AT_TEST}, got {reuse_at_test!r}')
        if not isinstance(freeze_reuse, bool):
            raise ValueError(f'{type(self).__name__}: freeze_reuse must be '
                             f'True or False, got {freeze_reuse!r}')
        self.fusion = fusion
        self.mask_ratio = float(mask_ratio)
        self.reuse_at_test = reuse_at_test
        self.freeze_reuse = freeze_reuse

    def _split_inputs(
        self, inputs: Union[torch.Tensor, MaskedInputs]
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``(image [B, C, H, W], reuse image [B, C, h, w] or None)``."""
        name = type(self).__name__
        if isinstance(inputs, MaskedInputs):
            image, reuse = inputs.masked_image, inputs.reuse_image
            expected = reuse_size(*image.shape[-2:], self.mask_ratio)
            if tuple(reuse.shape[-2:]) != expected:
                raise ValueError(
                    f'{name} (mask_ratio={self.mask_ratio}) expects a reuse '
                    f'image of {expected} for images of '
                    f'{tuple(image.shape[-2:])}, got '
                    f'{tuple(reuse.shape[-2:])}: give the backbone and the '
                    "data preprocessor's mask generator the same mask_ratio")
            return image, reuse
        if not torch.is_tensor(inputs):
            raise TypeError(f'{name} takes a Tensor or MaskedInputs, got '
                            f'{type(inputs).__name__}')
        if self.training:
            raise ValueError(
                f'{name} trains on the masked image and the reuse image, '
                'but got a plain image batch: set model.data_preprocessor '
                f'type to {PREPROCESSORS}')
        if self.reuse_at_test == 'off':
            return inputs, None
        size = reuse_size(*inputs.shape[-2:], self.mask_ratio)
        return inputs, resize_image(inputs, size)

    def _reuse_is_frozen(self) -> bool:
        """Whether ``frozen_stages`` reaches the reuse branch."""
        raise NotImplementedError

    def _freeze_reuse(self, *module_names: str) -> None:
        if not self.freeze_reuse:
            return
        for name in module_names:
            module = getattr(self, name, None)
            if module is None:
                continue
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def _check_frozen_reuse_is_loaded(self, state_dict: dict, prefix: str,
                                      *module_names: str) -> None:
        """Refuse a checkpoint that would leave frozen reuse modules at their
        random init: one without a reuse branch (a plain ImageNet backbone)
        loaded with ``freeze_reuse=True`` under ``frozen_stages``."""
        if not (self.freeze_reuse and self._reuse_is_frozen()):
            return
        missing = [
            name for name in module_names
            if any(True for _ in getattr(self, name).parameters())
            and not any(key.startswith(f'{prefix}{name}.')
                        for key in state_dict)
        ]
        if missing:
            raise ValueError(
                f'{type(self).__name__}: the checkpoint has no weights for '
                f'{", ".join(missing)} (a backbone without a reuse branch?), '
                f'and freeze_reuse=True with frozen_stages='
                f'{self.frozen_stages} would freeze them at their random '
                'init: load a MaskAnyNet checkpoint, or set '
                'model.backbone.freeze_reuse=False so they train')

    def init_weights(self) -> None:
        """Name a local ``init_cfg`` checkpoint that does not exist (the
        downstream configs start from the checkpoint a MaskAnyNet
        classification recipe writes) before loading it."""
        cfg = self.init_cfg if isinstance(self.init_cfg, dict) else {}
        checkpoint = cfg.get('checkpoint') if cfg.get(
            'type') == 'Pretrained' else None
        if isinstance(checkpoint, str) and '://' not in checkpoint \
                and not osp.isfile(checkpoint):
            raise FileNotFoundError(
                f'{type(self).__name__}: init_cfg checkpoint {checkpoint!r} '
                'does not exist. Train the MaskAnyNet classification recipe '
                'that writes it (README, "Starting weights"), or point '
                'model.backbone.init_cfg.checkpoint at your checkpoint')
        super().init_weights()

    def get_layer_depth(self, param_name: str, prefix: str = ''):
        """Layer depth for layer-wise lr decay: the auxiliary branch and the
        fusion count as the stem (depth 0)."""
        if param_name.startswith(prefix + 'reuse_'):
            param_name = prefix + 'patch_embed'
        return super().get_layer_depth(param_name, prefix)


@MODELS.register_module()
class MaskResNet(_MaskAnyNetMixin, ResNet):
    """MaskAnyNet ResNet (depth 18/34/50/101/152).

    The primary path is mmpretrain's :class:`ResNet` with its module names,
    so an ImageNet ResNet checkpoint loads into it (the reuse modules are
    reported missing and keep their init). The reuse stem is the primary
    stem without its max-pool: on the H/2 reuse image it reaches H/4, the
    size after the primary max-pool, where the two are fused.

    Args:
        depth (int): Depth of the ResNet.
        fusion (str): ``'concat'``, ``'add'``, ``'image'`` or ``'decision'``
            (see the module docstring). Defaults to ``'concat'``.
        mask_ratio (float): Masked area ratio of the data preprocessor; sets
            the reuse size at test time. Defaults to 0.25.
        reuse_at_test (str): ``'downsample'`` or ``'off'``. Defaults to
            ``'downsample'``.
        freeze_reuse (bool): Whether ``frozen_stages >= 0`` freezes the
            reuse branch and the fusion with the stem. Set False when
            starting from a plain ResNet checkpoint, which has no reuse
            branch to keep: loading one into a frozen reuse branch raises
            an error rather than freezing a random fusion. Defaults to True.
        alignment_cfg (dict): Arguments of :class:`FeatureAlignment`
            (``hidden_channels``, ``kernel_sizes``, ``norm_cfg``...). Defaults
            to the ResNet's ``norm_cfg``.
        pretrained (str, optional): Checkpoint of the backbone, as mmdet's
            and mmseg's ResNet take it (mmseg's ``model.pretrained`` passes
            it on); same as ``init_cfg=dict(type='Pretrained',
            checkpoint=pretrained)``. Defaults to None.
        **kwargs: Arguments of mmpretrain's :class:`ResNet` (``in_channels``,
            ``out_indices``, ``frozen_stages``, ``norm_eval``, ...).

    Checkpoints: the deep stem of mmcv/mmseg/mmdet ResNetV1c checkpoints
    (``stem.0.weight``, ``stem.1.*``...) is renamed to mmpretrain's
    (``stem.0.conv.weight``, ``stem.0.bn.*``...) while loading. A checkpoint
    without a reuse branch (any plain ResNet) initialises the reuse stem
    with its stem, which has the same shapes; the fusion keeps its init.
    """
    trunk_type = ResNet

    def __init__(self,
                 depth: int,
                 fusion: str = 'concat',
                 mask_ratio: float = 0.25,
                 reuse_at_test: str = 'downsample',
                 freeze_reuse: bool = True,
                 alignment_cfg: dict = dict(),
                 pretrained: Optional[str] = None,
                 **kwargs) -> None:
        self._check_reuse_args(fusion, RESNET_FUSIONS, mask_ratio,
                               reuse_at_test, freeze_reuse)
        if pretrained is not None:
            if kwargs.get('init_cfg') is not None:
                raise ValueError(
                    f'{type(self).__name__}: give pretrained={pretrained!r} '
                    f'or init_cfg={kwargs["init_cfg"]!r}, not both')
            kwargs['init_cfg'] = dict(type='Pretrained', checkpoint=pretrained)
        in_channels = kwargs.get('in_channels', 3)
        primary_kwargs = dict(kwargs)
        if fusion == 'image':
            primary_kwargs['in_channels'] = 2 * in_channels
        super().__init__(depth, **primary_kwargs)
        if fusion in FEATURE_FUSIONS:
            self.reuse_stem = self._make_reuse_stem(in_channels,
                                                    self.stem_channels)
            alignment_cfg = dict(dict(norm_cfg=self.norm_cfg),
                                 **alignment_cfg)
            self.reuse_fusion = ReuseFusion(self.stem_channels, fusion,
                                            alignment_cfg)
        elif fusion == 'decision':
            self.reuse_trunk = self.trunk_type(depth, **kwargs)
            self.reuse_trunk.maxpool = nn.Identity()
        self._freeze_stages()

    def _make_reuse_stem(self, in_channels: int,
                         stem_channels: int) -> nn.Module:
        if not self.deep_stem:
            return ConvModule(in_channels,
                              stem_channels,
                              7,
                              stride=2,
                              padding=3,
                              conv_cfg=self.conv_cfg,
                              norm_cfg=self.norm_cfg)
        widths = (in_channels, stem_channels // 2, stem_channels // 2,
                  stem_channels)
        return nn.Sequential(*[
            ConvModule(widths[i],
                       widths[i + 1],
                       3,
                       stride=2 if i == 0 else 1,
                       padding=1,
                       conv_cfg=self.conv_cfg,
                       norm_cfg=self.norm_cfg) for i in range(3)
        ])

    def _reuse_is_frozen(self) -> bool:
        return self.frozen_stages >= 0

    def _freeze_stages(self) -> None:
        super()._freeze_stages()
        if self._reuse_is_frozen():
            self._freeze_reuse('reuse_stem', 'reuse_fusion')

    def _stem_keys(self) -> dict:
        """``{name in the stem: name in the reuse stem}`` of the weights."""
        if self.deep_stem:
            return {'stem.': 'reuse_stem.'}
        return {
            'conv1.': 'reuse_stem.conv.',
            f'{self.norm1_name}.': f'reuse_stem.{self.reuse_stem.norm_name}.'
        }

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Runs before the children load, so they see the renamed keys.
        if self.deep_stem:
            _rename_mmcv_deep_stem(state_dict, prefix + 'stem.')
        if self.fusion in FEATURE_FUSIONS and not any(
                key.startswith(prefix + 'reuse_stem.') for key in state_dict):
            for key in list(state_dict):
                for stem, reuse in self._stem_keys().items():
                    if key.startswith(prefix + stem):
                        name = prefix + reuse + key[len(prefix + stem):]
                        state_dict[name] = state_dict[key]
        if self.fusion in FEATURE_FUSIONS:
            self._check_frozen_reuse_is_loaded(state_dict, prefix,
                                               'reuse_stem', 'reuse_fusion')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _primary_stem(self, x: torch.Tensor) -> torch.Tensor:
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        return self.maxpool(x)

    def _stages(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def forward(
        self, inputs: Union[torch.Tensor, MaskedInputs]
    ) -> Tuple[torch.Tensor, ...]:
        image, reuse = self._split_inputs(inputs)
        if self.fusion == 'image':
            reuse = torch.zeros_like(image) if reuse is None else \
                F.interpolate(reuse, size=image.shape[-2:], mode='bilinear',
                              align_corners=False)
            return self._stages(
                self._primary_stem(torch.cat([image, reuse], dim=1)))
        x = self._primary_stem(image)
        if self.fusion in FEATURE_FUSIONS and reuse is not None:
            x = self.reuse_fusion(x, self.reuse_stem(reuse))
        outs = self._stages(x)
        if self.fusion != 'decision':
            return outs
        if reuse is None:
            return tuple(torch.cat([o, torch.zeros_like(o)], 1) for o in outs)
        # Nearest resizing by an integer factor keeps the pooled mean.
        return tuple(
            torch.cat([o, _resize_like(r, o, 'nearest')], dim=1)
            for o, r in zip(outs, self.reuse_trunk(reuse)))


def _rename_mmcv_deep_stem(state_dict: dict, stem: str) -> None:
    """mmcv-style deep stem keys (an ``nn.Sequential`` of conv, norm, ReLU
    x 3: ``stem.0.weight``, ``stem.1.*``, ``stem.3.weight``...) to
    mmpretrain's ConvModules (``stem.0.conv.weight``, ``stem.0.bn.*``)."""
    for key in list(state_dict):
        if not key.startswith(stem):
            continue
        index, _, rest = key[len(stem):].partition('.')
        if not index.isdigit() or rest.startswith(('conv.', 'bn.')):
            continue
        layer, kind = divmod(int(index), 3)
        if kind < 2:
            name = f'{stem}{layer}.{("conv", "bn")[kind]}.{rest}'
            state_dict[name] = state_dict.pop(key)


@MODELS.register_module()
class MaskResNetV1c(MaskResNet):
    """MaskAnyNet ResNetV1c: :class:`MaskResNet` with the deep stem (three
    3x3 convs), the backbone of mmseg's recipes.

    Args:
        contract_dilation (bool): Accepted for mmseg's ResNetV1c configs;
            only dilations of 1 are supported with it. Defaults to False.
        **kwargs: Arguments of :class:`MaskResNet`.
    """

    def __init__(self, contract_dilation: bool = False, **kwargs) -> None:
        dilations = kwargs.get('dilations', (1, 1, 1, 1))
        if contract_dilation and any(d > 1 for d in dilations):
            raise ValueError(
                'MaskResNetV1c: contract_dilation=True with dilations='
                f'{tuple(dilations)} is not supported; use dilations of 1 '
                "(UperNet's) or contract_dilation=False")
        super().__init__(deep_stem=True, avg_down=False, **kwargs)


@MODELS.register_module()
class MaskResNetCIFAR(MaskResNet, ResNet_CIFAR):
    """MaskAnyNet ResNet for 32x32 inputs (3x3 stem, no max-pool), as
    mmpretrain's :class:`ResNet_CIFAR`.

    The CIFAR stem has no stride-2 step to drop, so the reuse stem is the
    same 3x3 conv and its H/2 map is upsampled bilinearly to the primary
    map before fusion. Arguments as :class:`MaskResNet`.
    """
    trunk_type = ResNet_CIFAR

    def _make_reuse_stem(self, in_channels: int,
                         stem_channels: int) -> nn.Module:
        return ConvModule(in_channels,
                          stem_channels,
                          3,
                          padding=1,
                          conv_cfg=self.conv_cfg,
                          norm_cfg=self.norm_cfg)

    def _primary_stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.norm1(self.conv1(x)))


class _TokenReuseMixin(_MaskAnyNetMixin):
    """Reuse patch embedding and token fusion of MaskViT and MaskSwin.

    ``first_frozen_stage``: the ``frozen_stages`` value from which the
    backbone freezes its patch embedding, and with it the reuse branch.
    """
    first_frozen_stage = 0

    def __init__(self,
                 *args,
                 fusion: str = 'concat',
                 mask_ratio: float = 0.25,
                 reuse_at_test: str = 'downsample',
                 freeze_reuse: bool = True,
                 alignment_cfg: dict = dict(),
                 **kwargs) -> None:
        self._check_reuse_args(fusion, FEATURE_FUSIONS, mask_ratio,
                               reuse_at_test, freeze_reuse)
        super().__init__(*args, **kwargs)
        self.reuse_patch_embed = _reuse_patch_embed(self.patch_embed,
                                                    math.sqrt(mask_ratio))
        # token embeddings are signed: no activation after the last layer
        alignment_cfg = dict(dict(last_act=False), **alignment_cfg)
        self.reuse_fusion = ReuseFusion(self.embed_dims, fusion,
                                        alignment_cfg)
        self._freeze_stages()

    def _reuse_is_frozen(self) -> bool:
        return self.frozen_stages >= self.first_frozen_stage

    def _freeze_stages(self) -> None:
        if self._reuse_is_frozen():
            super()._freeze_stages()
            self._freeze_reuse('reuse_patch_embed', 'reuse_fusion')

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        self._check_frozen_reuse_is_loaded(state_dict, prefix,
                                           'reuse_patch_embed', 'reuse_fusion')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _embed(
        self, inputs: Union[torch.Tensor, MaskedInputs]
    ) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """Fused patch tokens [B, N, C] and their grid ``(h, w)``."""
        image, reuse = self._split_inputs(inputs)
        tokens, grid = self.patch_embed(image)
        if reuse is not None:
            reuse_tokens, reuse_grid = self.reuse_patch_embed(reuse)
            tokens = _fuse_tokens(self.reuse_fusion, tokens, reuse_tokens,
                                  grid, reuse_grid)
        return tokens, grid


@MODELS.register_module()
class MaskViT(_TokenReuseMixin, VisionTransformer):
    """MaskAnyNet Vision Transformer.

    The reuse image gets its own patch embedding with ``sqrt(mask_ratio)``
    times the patch size (8 for ViT-B/16 at 25 %), so it yields the same
    token grid; the two token grids are fused before the class token and
    position embedding are added.

    Args:
        fusion (str): ``'concat'`` or ``'add'``. Defaults to ``'concat'``.
        mask_ratio (float): See :class:`MaskResNet`. Defaults to 0.25.
        reuse_at_test (str): See :class:`MaskResNet`.
        freeze_reuse (bool): See :class:`MaskResNet`. Defaults to True.
        alignment_cfg (dict): Arguments of :class:`FeatureAlignment`.
            Defaults to BN, ReLU and no activation after the last layer.
        **kwargs: Arguments of mmpretrain's :class:`VisionTransformer`.
    """
    first_frozen_stage = 1

    def forward(
        self, inputs: Union[torch.Tensor, MaskedInputs]
    ) -> Tuple[torch.Tensor, ...]:
        x, patch_resolution = self._embed(inputs)
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1)
        x = x + resize_pos_embed(self.pos_embed,
                                 self.patch_resolution,
                                 patch_resolution,
                                 mode=self.interpolate_mode,
                                 num_extra_tokens=self.num_extra_tokens)
        x = self.pre_norm(self.drop_after_pos(x))
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i == len(self.layers) - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, patch_resolution))
        return tuple(outs)


@MODELS.register_module()
class MaskSwin(_TokenReuseMixin, SwinTransformer):
    """MaskAnyNet Swin Transformer: as :class:`MaskViT`, at Swin's patch
    embedding (reuse patch size 2 for Swin-T at 25 %); the stages run
    unchanged on the fused tokens.

    Args:
        fusion (str): ``'concat'`` or ``'add'``. Defaults to ``'concat'``.
        mask_ratio (float): See :class:`MaskResNet`. Defaults to 0.25.
        reuse_at_test (str): See :class:`MaskResNet`.
        freeze_reuse (bool): See :class:`MaskResNet`. Defaults to True.
        alignment_cfg (dict): See :class:`MaskViT`.
        **kwargs: Arguments of mmpretrain's :class:`SwinTransformer`.
    """

    def forward(
        self, inputs: Union[torch.Tensor, MaskedInputs]
    ) -> Tuple[torch.Tensor, ...]:
        x, hw_shape = self._embed(inputs)
        if self.use_abs_pos_embed:
            x = x + resize_pos_embed(self.absolute_pos_embed,
                                     self.patch_resolution, hw_shape,
                                     self.interpolate_mode,
                                     self.num_extra_tokens)
        x = self.drop_after_pos(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x, hw_shape = stage(x,
                                hw_shape,
                                do_downsample=self.out_after_downsample)
            if i in self.out_indices:
                out = getattr(self, f'norm{i}')(x)
                outs.append(
                    out.view(-1, *hw_shape,
                             self.num_features[i]).permute(0, 3, 1,
                                                           2).contiguous())
            if stage.downsample is not None and not self.out_after_downsample:
                x, hw_shape = stage.downsample(x, hw_shape)
        return tuple(outs)
