"""MaskAnyNet EfficientNetV2: mmpretrain's EfficientNetV2 with a reuse
branch (see :mod:`.maskanynet_base`)."""
from mmcv.cnn import ConvModule
from mmpretrain.models.backbones import EfficientNetV2

from mmmaskreuse.registry import MODELS
from .fusion import ReuseFusion
from .maskanynet_base import StemReuseMixin


@MODELS.register_module()
class MaskEfficientNetV2(StemReuseMixin, EfficientNetV2):
    """MaskAnyNet EfficientNetV2.

    EfficientNetV2's stem, ``layers[0]``, is a 3 x 3 stride-2
    conv-BN-Swish: H/2. The reuse stem is the same layer with stride 1, so
    the H/2 reuse image (25 %) reaches the same H/2 map, and the two are
    fused right after the stem. At other mask ratios the reuse map
    (``H * sqrt(mask_ratio)``) is resized bilinearly to H/2 before the
    fusion, as :class:`ReuseFusion` does for any size. Everything else is
    mmpretrain's :class:`EfficientNetV2`, its ``forward`` included, so an
    EfficientNetV2 checkpoint loads into the primary path; a checkpoint
    without a reuse stem (a plain EfficientNetV2's) loads its stem's
    weights into the reuse stem too (same shapes), as :class:`MaskResNet`
    does, and the fusion keeps its init.

    :class:`MaskAnyBackbone` with ``fuse_after='layers.0'`` builds the same
    reuse branch (tested, with this class's ``alignment_cfg``); this class
    stays for the configs and checkpoints that name it and for its
    alignment defaults (the backbone's norm and activation).

    The authors' ``MaskEfficientNetV2`` (HuHaigen/MaskAnyNet-Code,
    ``models/MaskEfficientNetV2.py``) has the same two stems (``stem1``:
    3 x 3 stride 2 conv-BN-SiLU on the masked image; ``stem2``: 3 x 3
    stride 1 conv-BN-SiLU on the reuse image) and adds their outputs
    (``torch.add``, a concatenation commented out): that is
    ``fusion='add'`` here. Our default is ``'concat'`` with the Feature
    Alignment Module, as for the other backbones and the paper's figure.
    Their code is a stand-alone network; this one keeps mmpretrain's
    (whose ``'s'`` has the paper's 24-channel stem where theirs has 48, and
    TensorFlow's "same" padding on the stride-2 convolutions), so
    mmpretrain's checkpoints and recipes apply.

    Args:
        fusion (str): ``'concat'``, ``'residual'`` or ``'add'`` (the
            authors'). Defaults to ``'concat'``.
        mask_ratio (float): See :class:`MaskResNet`. Defaults to 0.25.
        reuse_at_test (str): See :class:`MaskResNet`. Defaults to
            ``'downsample'``.
        freeze_reuse (bool): See :class:`MaskConvNeXt` (here too
            ``frozen_stages >= 1`` freezes the stem). Defaults to True.
        alignment_cfg (dict): Arguments of :class:`FeatureAlignment`.
            Defaults to the backbone's ``norm_cfg`` and ``act_cfg`` (BN and
            Swish) with an activation after the last layer: the features
            it replaces are the stem's, activated.
        reuse_drop_prob (float): See :class:`MaskResNet`. Defaults to 0.
        **kwargs: Arguments of mmpretrain's :class:`EfficientNetV2`
            (``arch``, ``drop_path_rate``, ``out_indices``,
            ``frozen_stages``, ``norm_eval``...).
    """
    reuse_modules = ('reuse_stem', 'reuse_fusion')
    stem_name = 'layers.0'
    first_frozen_stage = 1

    def _alignment_defaults(self) -> dict:
        return dict(norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def _build_reuse_branch(self, alignment_cfg: dict) -> None:
        stem = self.layers[0]
        kernel_size = stem.conv.kernel_size[0]
        self.reuse_stem = ConvModule(stem.conv.in_channels,
                                     stem.conv.out_channels,
                                     kernel_size,
                                     stride=1,
                                     padding=kernel_size // 2,
                                     conv_cfg=self.conv_cfg,
                                     norm_cfg=self.norm_cfg,
                                     act_cfg=self.act_cfg)
        self.reuse_fusion = ReuseFusion(stem.conv.out_channels, self.fusion,
                                        alignment_cfg)
        stem.register_forward_hook(self._fuse_reuse_features)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        self._init_reuse_stem_from_stem(state_dict, prefix,
                                        {'layers.0.': 'reuse_stem.'})
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
