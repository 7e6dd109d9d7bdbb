"""MaskAnyNet ResNets: mmpretrain's ResNet, ResNetV1c and ResNet_CIFAR with
a reuse branch (see :mod:`.maskanynet_base`)."""
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmpretrain.models.backbones import ResNet, ResNet_CIFAR

from mmmaskreuse.masking import MaskedInputs
from mmmaskreuse.registry import MODELS
from .fusion import FEATURE_FUSIONS, ReuseFusion, resize_like
from .maskanynet_base import MaskAnyNetMixin

RESNET_FUSIONS = FEATURE_FUSIONS + ('image', 'decision')


@MODELS.register_module()
class MaskResNet(MaskAnyNetMixin, ResNet):
    """MaskAnyNet ResNet (depth 18/34/50/101/152).

    The primary path is mmpretrain's :class:`ResNet` with its module names,
    so an ImageNet ResNet checkpoint loads into it (the reuse modules are
    reported missing and keep their init), and its ``forward``: the reuse
    features are fused by a forward hook on the module that ends the stem
    (``fusion_point``: the max-pool). The reuse stem is the primary stem
    without its max-pool: on the H/2 reuse image it reaches H/4, the size
    after the primary max-pool, where the two are fused.

    A class, not a configuration of :class:`MaskAnyBackbone`: its image-
    and decision-level fusions change the first convolution's input and
    add a second trunk, which a fusion after the stem cannot express, and
    its reuse stem drops the max-pool (the wrapper would keep it at stride
    1), which the MaskAnyNet ResNet checkpoints and recipes are trained
    with.

    Args:
        depth (int): Depth of the ResNet.
        fusion (str): ``'concat'``, ``'residual'``, ``'add'``, ``'image'`` or
            ``'decision'`` (see :mod:`.maskanynet_base`). Defaults to
            ``'concat'``.
        mask_ratio (float): Masked area ratio of the data preprocessor; sets
            the reuse size at test time. Defaults to 0.25.
        reuse_at_test (str): ``'downsample'``, ``'off'``, ``'drop'``
            (``residual`` and ``add``: the plain trunk, exactly), or the
            ablation ``'zeros'`` (see :mod:`.maskanynet_base`; the other
            image is the data preprocessor's ``other_image_at_test``).
            Defaults to ``'downsample'``.
        freeze_reuse (bool): Whether ``frozen_stages >= 0`` freezes the
            reuse branch and the fusion with the stem. Set False when
            starting from a plain ResNet checkpoint, which has no reuse
            branch to keep: loading one into a frozen reuse branch raises
            an error rather than freezing a random fusion, and so does
            training one that no checkpoint filled
            (:class:`~mmmaskreuse.engine.CheckFrozenReuseHook`). Defaults to
            True.
        alignment_cfg (dict): Arguments of :class:`FeatureAlignment`
            (``hidden_channels``, ``kernel_sizes``, ``norm_cfg``...). Defaults
            to the ResNet's ``norm_cfg``.
        reuse_drop_prob (float): Reuse dropout: probability, in [0, 1),
            that a training sample's reuse features are dropped (that
            sample then goes through the primary path exactly);
            ``residual`` and ``add`` only. Defaults to 0 (the authors').
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
    fusion_point = 'maxpool'

    def __init__(self,
                 depth: int,
                 fusion: str = 'concat',
                 mask_ratio: float = 0.25,
                 reuse_at_test: str = 'downsample',
                 freeze_reuse: bool = True,
                 alignment_cfg: dict = dict(),
                 reuse_drop_prob: float = 0.,
                 pretrained: Optional[str] = None,
                 **kwargs) -> None:
        self._check_reuse_args(fusion, RESNET_FUSIONS, mask_ratio,
                               reuse_at_test, freeze_reuse, reuse_drop_prob)
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
            self.reuse_modules = ('reuse_stem', 'reuse_fusion')
            self.reuse_stem = self._make_reuse_stem(in_channels,
                                                    self.stem_channels)
            alignment_cfg = dict(dict(norm_cfg=self.norm_cfg),
                                 **alignment_cfg)
            self.reuse_fusion = ReuseFusion(self.stem_channels, fusion,
                                            alignment_cfg)
            getattr(self, self.fusion_point).register_forward_hook(
                self._fuse_reuse_features)
        elif fusion == 'decision':  # a whole second trunk, frozen by its own
            self.reuse_trunk = self.trunk_type(depth, **kwargs)
            self.reuse_trunk.maxpool = nn.Identity()
        self._track_fresh_norms()
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
        if self.fusion in FEATURE_FUSIONS:
            self._init_reuse_stem_from_stem(state_dict, prefix,
                                            self._stem_keys())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(
        self, inputs: Union[torch.Tensor, MaskedInputs]
    ) -> Tuple[torch.Tensor, ...]:
        image, reuse = self._split_inputs(inputs)
        if self.fusion == 'image':
            reuse = torch.zeros_like(image) if reuse is None else \
                F.interpolate(reuse, size=image.shape[-2:], mode='bilinear',
                              align_corners=False)
            return super().forward(torch.cat([image, reuse], dim=1))
        if self.fusion == 'decision':
            outs = super().forward(image)
            if reuse is None:
                return tuple(
                    torch.cat([o, torch.zeros_like(o)], 1) for o in outs)
            # Nearest resizing by an integer factor keeps the pooled mean.
            return tuple(
                torch.cat([o, resize_like(r, o, 'nearest')], dim=1)
                for o, r in zip(outs, self.reuse_trunk(reuse)))
        return self._forward_fusing(image, reuse)


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
    map before fusion, after the stem's ReLU (``fusion_point``, used by
    the stem only). Arguments as :class:`MaskResNet`.
    """
    trunk_type = ResNet_CIFAR
    fusion_point = 'relu'

    def _make_reuse_stem(self, in_channels: int,
                         stem_channels: int) -> nn.Module:
        return ConvModule(in_channels,
                          stem_channels,
                          3,
                          padding=1,
                          conv_cfg=self.conv_cfg,
                          norm_cfg=self.norm_cfg)
