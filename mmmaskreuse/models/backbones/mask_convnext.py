"""MaskAnyNet ConvNeXt: mmpretrain's ConvNeXt with a reuse branch (see
:mod:`.maskanynet_base`)."""
import copy
import math

import torch.nn as nn
from mmpretrain.models.backbones import ConvNeXt

from mmmaskreuse.registry import MODELS
from .fusion import ReuseFusion
from .maskanynet_base import StemReuseMixin


@MODELS.register_module()
class MaskConvNeXt(StemReuseMixin, ConvNeXt):
    """MaskAnyNet ConvNeXt.

    ConvNeXt's stem is a patchify convolution (4 x 4, stride 4) and a
    LayerNorm, ``downsample_layers[0]``. The reuse stem is the same with
    ``sqrt(mask_ratio)`` times its patch size (2 x 2, stride 2 at 25 %), so
    the H/2 reuse image reaches the same H/4 map; the two are fused right
    after the stem, as the ViT's patch tokens are. Everything else is
    mmpretrain's :class:`ConvNeXt`, its ``forward`` and checkpoint loading
    included, so a ConvNeXt checkpoint loads into the primary path (the
    reuse modules keep their init: the reuse stem's kernel has another
    size).

    :class:`MaskAnyBackbone` with ``backbone=dict(type='ConvNeXt', ...)``
    and ``fuse_after='downsample_layers.0'`` builds the same reuse branch
    (same weight names, same outputs from the same weights: tested). This
    class stays for the configs and checkpoints that name it and for its
    ``frozen_stages`` rule (the branch freezes with the stem at 1).

    Args:
        fusion (str): ``'concat'``, ``'residual'`` or ``'add'``. Defaults
            to ``'concat'``.
        mask_ratio (float): See :class:`MaskResNet`. Defaults to 0.25.
        reuse_at_test (str): See :class:`MaskResNet`. Defaults to
            ``'downsample'``.
        freeze_reuse (bool): Whether ``frozen_stages >= 1`` (which freezes
            the stem) freezes the reuse branch and the fusion too. Defaults
            to True.
        alignment_cfg (dict): Arguments of :class:`FeatureAlignment`.
            Defaults to BN, ReLU and no activation after the last layer
            (the stem's LayerNorm output is signed).
        reuse_drop_prob (float): See :class:`MaskResNet`. Defaults to 0.
        **kwargs: Arguments of mmpretrain's :class:`ConvNeXt` (``arch``,
            ``drop_path_rate``, ``out_indices``, ``frozen_stages``...).
    """
    reuse_modules = ('reuse_stem', 'reuse_fusion')
    stem_name = 'downsample_layers.0'
    first_frozen_stage = 1

    def _build_reuse_branch(self, alignment_cfg: dict) -> None:
        stem_conv, stem_norm = self.downsample_layers[0]
        patch = stem_conv.kernel_size[0] * math.sqrt(self.mask_ratio)
        if patch != int(patch) or stem_conv.stride != stem_conv.kernel_size:
            raise ValueError(
                f'{type(self).__name__}: stem patch size '
                f'{stem_conv.kernel_size[0]} x sqrt(mask_ratio='
                f'{self.mask_ratio}) = {patch} must be an integer for the '
                'reuse stem')
        self.reuse_stem = nn.Sequential(
            nn.Conv2d(stem_conv.in_channels, stem_conv.out_channels,
                      kernel_size=int(patch), stride=int(patch)),
            copy.deepcopy(stem_norm))  # a norm of the stem's kind
        self.reuse_fusion = ReuseFusion(self.channels[0], self.fusion,
                                        alignment_cfg)
        self.downsample_layers[0].register_forward_hook(
            self._fuse_reuse_features)
