"""MaskAnyNet Swin Transformer (see :mod:`.maskanynet_base`)."""
from mmpretrain.models.backbones import SwinTransformer

from mmmaskreuse.registry import MODELS
from .maskanynet_base import TokenReuseMixin


@MODELS.register_module()
class MaskSwin(TokenReuseMixin, SwinTransformer):
    """MaskAnyNet Swin Transformer: as :class:`MaskViT`, at Swin's patch
    embedding (reuse patch size 2 for Swin-T at 25 %); mmpretrain's
    :class:`SwinTransformer` runs unchanged on the fused tokens.

    Checkpoints: mmpretrain converts the keys of Swin checkpoints older
    than its version 2 (the final ``norm.*``, now ``norm{last stage}.*``)
    and 3 (``attn_mask`` buffers, now computed) only when the class *is*
    ``SwinTransformer``. This subclass applies the same conversions, so an
    old Swin checkpoint (those of mmdet's and mmseg's Swin configs) loads
    into it exactly as into its vanilla twin. Both are why this is a class
    and not a configuration of :class:`MaskAnyBackbone` (token fusion; a
    ``type(self) is SwinTransformer`` check the wrapper's subclass fails).

    Args:
        **kwargs: The reuse arguments of :class:`MaskViT` (``fusion``,
            ``mask_ratio``, ``reuse_at_test``, ``freeze_reuse``,
            ``alignment_cfg``, ``reuse_drop_prob``) and those of mmpretrain's
            :class:`SwinTransformer`.
    """

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              *args, **kwargs):
        version = local_metadata.get('version')
        if version is None or version < 2:
            old, new = f'{prefix}norm.', f'{prefix}norm{len(self.stages) - 1}.'
            for key in [k for k in state_dict if k.startswith(old)]:
                state_dict[new + key[len(old):]] = state_dict.pop(key)
        if version is None or version < 3:
            for key in [k for k in state_dict if k.startswith(prefix)
                        and 'attn_mask' in k]:
                del state_dict[key]
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      *args, **kwargs)
