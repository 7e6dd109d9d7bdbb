"""MaskAnyNet Vision Transformer (see :mod:`.maskanynet_base`)."""
from mmpretrain.models.backbones import VisionTransformer

from mmmaskreuse.registry import MODELS
from .maskanynet_base import TokenReuseMixin


@MODELS.register_module()
class MaskViT(TokenReuseMixin, VisionTransformer):
    """MaskAnyNet Vision Transformer.

    The reuse image gets its own patch embedding with ``sqrt(mask_ratio)``
    times the patch size (8 for ViT-B/16 at 25 %), so it yields the same
    token grid; the two token grids are fused right after the patch
    embedding, before the class token and position embedding are added.
    Everything else is mmpretrain's :class:`VisionTransformer`, its
    ``forward`` and checkpoint loading included.

    A class, not a configuration of :class:`MaskAnyBackbone`, which fuses
    ``[B, C, H, W]`` feature maps: the patch embedding outputs tokens and
    their grid, fused here as tokens before the class token and position
    embedding.

    Args:
        fusion (str): ``'concat'``, ``'residual'`` or ``'add'``. Defaults
            to ``'concat'``.
        mask_ratio (float): See :class:`MaskResNet`. Defaults to 0.25.
        reuse_at_test (str): See :class:`MaskResNet`.
        freeze_reuse (bool): See :class:`MaskResNet`. Defaults to True.
        alignment_cfg (dict): Arguments of :class:`FeatureAlignment`.
            Defaults to BN, ReLU and no activation after the last layer.
        reuse_drop_prob (float): See :class:`MaskResNet`. Defaults to 0.
        **kwargs: Arguments of mmpretrain's :class:`VisionTransformer`.
    """
    first_frozen_stage = 1
