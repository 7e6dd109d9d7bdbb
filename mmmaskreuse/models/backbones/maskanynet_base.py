"""What every MaskAnyNet backbone shares: masked image and reuse image, two
branches, fused.

In training the data preprocessor hands the backbone a
:class:`~mmmaskreuse.masking.MaskedInputs` pair. The primary branch (the
stem of the usual backbone, module names unchanged so ImageNet checkpoints
load) embeds the masked image ``[B, 3, H, W]``; the auxiliary branch embeds
the reuse image ``[B, 3, h, w]`` (``h = H * sqrt(mask_ratio)``, H/2 at 25 %)
with one stride-2 step fewer, so both feature maps have the same size. The
two are fused and the rest of the upstream backbone runs unchanged: each
backbone runs its upstream ``forward`` and fuses through a forward hook on
the module after which the fusion happens (ResNet's max-pool, the patch
embedding of ViT and Swin, the stem of ConvNeXt and EfficientNetV2).

``fusion`` picks where (the paper's ablation):

- ``'concat'`` (default): feature level, right after the stem (after the
  max-pool for ResNet, after patch embedding for ViT/Swin):
  ``concat -> FeatureAlignment`` (3 conv-norm-act layers back to C channels).
- ``'residual'``: feature level, ``primary + FeatureAlignment(concat)``
  with the alignment's last norm starting at zero: a pretrained trunk is
  exactly itself at step 0 (ours, see :class:`ReuseFusion`).
- ``'add'``: feature level, ``primary + reuse``, as in the authors' code.
- ``'image'`` (ResNet only): the reuse image upsampled to ``H x W`` and
  concatenated to the masked image as 3 more input channels.
- ``'decision'`` (ResNet only): a second full ResNet on the reuse image;
  every output is ``concat(primary, reuse)``, so the head sees 2C channels
  and the backbone has about twice the parameters.

Outside training the backbone takes a plain image batch (evaluation batches
are never masked) and, with ``reuse_at_test='downsample'``, gives the
auxiliary branch the whole image resized to the reuse size; with ``'off'``
the auxiliary branch is skipped: feature-level fusion fuses zero reuse
features (the alignment still runs, as in training), image and decision
level get zeros. ``'zeros'`` ablates the branch (the failure signature of
a branch that contributes nothing is an unchanged accuracy): it feeds it a
reuse image of zeros (the mean colour after normalisation). The other
ablation, the image of another label, needs the labels, which only the
data preprocessor sees: ``other_image_at_test`` of
:class:`~mmmaskreuse.models.MaskReuseClsDataPreprocessor`. A backbone
given a :class:`~mmmaskreuse.masking.MaskedInputs` outside training feeds
its branch that pair's reuse image.
``'drop'`` (``residual`` and ``add`` only) skips the branch and the fusion:
the backbone is its upstream trunk, bit for bit, as after
:func:`~mmmaskreuse.models.strip_reuse` (``'off'`` is not, for
``residual``: its alignment still runs on the primary features).

Reuse dropout (``reuse_drop_prob``, ``residual`` and ``add`` only; ours,
not the paper's): in training each sample's reuse features are dropped
with that probability, alone, so that sample goes through the primary path
exactly (``'drop'``) and the trunk also learns to work without the branch,
which can then be dropped at test time or stripped for deployment. The
branch and the fusion run on the kept samples only
(:func:`~mmmaskreuse.models.backbones.fusion.fuse_kept`): a dropped
sample's output and gradient are the trunk's, and the fusion's BatchNorm
statistics are the kept samples'.

BatchNorms that no checkpoint trained (the fusion's, when the backbone
starts from a plain upstream checkpoint) keep training their statistics
under mmdet's and mmseg's ``norm_eval=True``, which would otherwise freeze
them at mean 0 / variance 1 for the whole run.
"""
import math
import os.path as osp
from typing import Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn.bricks.transformer import PatchEmbed
from torch.nn.modules.batchnorm import _BatchNorm

from mmmaskreuse.masking import MaskedInputs, resize_image, reuse_size
from .fusion import (DROPPABLE_FUSIONS, FEATURE_FUSIONS, ReuseFusion,
                     draw_reuse_keep, fuse_kept, fuse_tokens)

REUSE_AT_TEST = ('downsample', 'off', 'zeros', 'drop')
PREPROCESSORS = ('mmmaskreuse.MaskReuseClsDataPreprocessor (classification), '
                 'mmmaskreuse.MaskReuseDetDataPreprocessor (detection) or '
                 'mmmaskreuse.MaskReuseSegDataPreprocessor (segmentation)')


def reuse_patch_embed(primary: PatchEmbed, scale: float) -> PatchEmbed:
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


class MaskAnyNetMixin:
    """Argument checks, input unpacking, freezing and norm modes shared by
    the MaskAnyNet backbones. ``takes_masked_inputs`` marks them for
    :func:`mmmaskreuse.models.check_masked_pairing`.

    A backbone names its reuse modules in ``reuse_modules`` and calls
    :meth:`_track_fresh_norms` once they are built.
    """

    takes_masked_inputs = True
    reuse_modules: Tuple[str, ...] = ()

    def _check_reuse_args(self,
                          fusion: str,
                          fusions: Sequence[str],
                          mask_ratio: float,
                          reuse_at_test: str,
                          freeze_reuse: bool = True,
                          reuse_drop_prob: float = 0.) -> None:
        if fusion not in fusions:
            raise ValueError(f'{type(self).__name__}: fusion must be one of '
                             f'{tuple(fusions)}, got {fusion!r}')
        if not isinstance(mask_ratio, (int, float)) or not 0 < mask_ratio < 1:
            raise ValueError(f'{type(self).__name__}: mask_ratio must be in '
                             f'(0, 1), got {mask_ratio!r}')
        if reuse_at_test == 'other_image':
            raise ValueError(
                f"{type(self).__name__}: reuse_at_test='other_image' moved to "
                'the data preprocessor, which pairs each image with one of '
                'another label: set model.data_preprocessor.'
                'other_image_at_test=True (the top-level data_preprocessor '
                'in mmpretrain configs) and leave reuse_at_test='
                "'downsample'")
        if reuse_at_test not in REUSE_AT_TEST:
            raise ValueError(f'{type(self).__name__}: reuse_at_test must be '
                             f'one of {REUSE_AT_TEST}, got {reuse_at_test!r}')
        if not isinstance(freeze_reuse, bool):
            raise ValueError(f'{type(self).__name__}: freeze_reuse must be '
                             f'True or False, got {freeze_reuse!r}')
        if isinstance(reuse_drop_prob, bool) or not isinstance(
                reuse_drop_prob, (int, float)) or not 0 <= reuse_drop_prob < 1:
            raise ValueError(f'{type(self).__name__}: reuse_drop_prob must '
                             f'be in [0, 1), got {reuse_drop_prob!r}')
        exact = f'exactly the primary path only with fusion in ' \
            f'{DROPPABLE_FUSIONS}, got fusion={fusion!r}'
        if reuse_drop_prob > 0 and fusion not in DROPPABLE_FUSIONS:
            raise ValueError(f'{type(self).__name__}: reuse_drop_prob='
                             f'{reuse_drop_prob!r} drops a sample to {exact}')
        if reuse_at_test == 'drop' and fusion not in DROPPABLE_FUSIONS:
            raise ValueError(f"{type(self).__name__}: reuse_at_test='drop' "
                             f'is {exact}')
        self.fusion = fusion
        self.reuse_drop_prob = float(reuse_drop_prob)
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
        if self.reuse_at_test in ('off', 'drop'):
            return inputs, None
        size = reuse_size(*inputs.shape[-2:], self.mask_ratio)
        reuse = resize_image(inputs, size)
        if self.reuse_at_test == 'zeros':
            return inputs, torch.zeros_like(reuse)
        return inputs, reuse

    def _reuse_is_frozen(self) -> bool:
        """Whether ``frozen_stages`` reaches the reuse branch."""
        raise NotImplementedError

    def _freeze_stages(self) -> None:
        """Upstream's freezing (if it has one: :class:`MaskAnyBackbone`
        wraps any backbone), then the reuse branch with the stem."""
        upstream = getattr(super(), '_freeze_stages', None)
        if upstream is not None:
            upstream()
        if self._reuse_is_frozen():
            self._freeze_reuse(*self.reuse_modules)

    def _track_fresh_norms(self) -> None:
        """Every BatchNorm of the reuse modules starts as one that no
        checkpoint trained; loading a checkpoint that holds its statistics
        takes it off the list."""
        self._fresh_norms = {
            f'{name}.{sub}' if sub else name
            for name in self.reuse_modules
            if getattr(self, name, None) is not None
            for sub, module in getattr(self, name).named_modules()
            if isinstance(module, _BatchNorm)
        }

    def _note_loaded_norms(self, state_dict: dict, prefix: str) -> None:
        self._fresh_norms = {
            name for name in self._fresh_norms
            if f'{prefix}{name}.running_mean' not in state_dict
        }

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        self._check_frozen_reuse_is_loaded(state_dict, prefix,
                                           *self.reuse_modules)
        self._note_loaded_norms(state_dict, prefix)
        self._filled_reuse = self._filled_reuse | {
            name for name in self.reuse_modules
            if any(key.startswith(f'{prefix}{name}.') for key in state_dict)
        }
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    #: the reuse modules a loaded state dict held weights for
    _filled_reuse = frozenset()

    def unfilled_frozen_reuse(self) -> Tuple[str, ...]:
        """The reuse modules (with parameters) that ``freeze_reuse`` freezes
        and that no loaded checkpoint held weights for: frozen at their
        random init. :class:`~mmmaskreuse.engine.CheckFrozenReuseHook`
        refuses to train with any."""
        if not (self.freeze_reuse and self._reuse_is_frozen()):
            return ()
        return tuple(
            name for name in self.reuse_modules
            if name not in self._filled_reuse
            and getattr(self, name, None) is not None
            and any(True for _ in getattr(self, name).parameters()))

    _pending_reuse = None

    def _forward_fusing(self, image: torch.Tensor,
                        reuse: Optional[torch.Tensor]):
        """Upstream's ``forward`` on ``image``; the fusion hook takes
        ``reuse`` (None: the branch is off) and the reuse dropout's ``keep``
        with :meth:`_take_reuse`. With ``reuse_at_test='drop'`` outside
        training there is no fusion: upstream's ``forward`` alone."""
        if not self.training and self.reuse_at_test == 'drop':
            return super().forward(image)
        keep = None
        if self.training and self.reuse_drop_prob > 0:
            keep = draw_reuse_keep(len(image), self.reuse_drop_prob,
                                   image.device)
        self._pending_reuse = (reuse, keep)
        try:
            return super().forward(image)
        finally:
            self._pending_reuse = None

    def _take_reuse(self):
        """``(True, reuse, keep)`` the first time a fusion hook asks within
        :meth:`_forward_fusing`; ``(False, None, None)`` otherwise (the
        hooked module running on its own, or a second time)."""
        if self._pending_reuse is None:
            return False, None, None
        (reuse, keep), self._pending_reuse = self._pending_reuse, None
        return True, reuse, keep

    def train(self, mode: bool = True):
        """Upstream's ``train`` (``norm_eval`` included), then: a frozen
        reuse branch stays in eval mode; under ``norm_eval`` the BatchNorms
        no checkpoint trained keep training their statistics."""
        super().train(mode)
        if not mode:
            return self
        if self.freeze_reuse and self._reuse_is_frozen():
            self._freeze_reuse(*self.reuse_modules)
        elif getattr(self, 'norm_eval', False):
            for name, module in self.named_modules():
                if name in self._fresh_norms:
                    module.train()
        return self

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
                'that writes it (docs/maskanynet.md, "Starting weights"), '
                'or point '
                'model.backbone.init_cfg.checkpoint at your checkpoint')
        super().init_weights()

    def _init_reuse_stem_from_stem(self, state_dict: dict, prefix: str,
                                   stem_keys: dict) -> None:
        """A checkpoint without a reuse stem (a plain upstream backbone's)
        loads its stem's weights into the reuse stem too, where the two
        have the same shapes: ``stem_keys`` maps each name prefix in the
        stem to the reuse stem's (``{'conv1.': 'reuse_stem.conv.'}``).
        Called before the modules load, so they see the copied keys."""
        if any(key.startswith(prefix + 'reuse_stem.') for key in state_dict):
            return
        for key in list(state_dict):
            for stem, reuse in stem_keys.items():
                if key.startswith(prefix + stem):
                    state_dict[prefix + reuse +
                               key[len(prefix + stem):]] = state_dict[key]

    #: the stem's parameter name, as upstream's ``get_layer_depth`` knows it
    stem_name = 'patch_embed'

    def get_layer_depth(self, param_name: str, prefix: str = ''):
        """Layer depth for layer-wise lr decay: the auxiliary branch and the
        fusion count as the stem (depth 0)."""
        if param_name.startswith(prefix + 'reuse_'):
            param_name = prefix + self.stem_name
        return super().get_layer_depth(param_name, prefix)

    def _fuse_reuse_features(self, module, args, output):
        """Forward hook of the module that ends the stem, for backbones with
        a ``reuse_stem``: the stem's output ``[B, C, h, w]`` (H/4 for
        ResNet and ConvNeXt, H/2 for EfficientNetV2) with the reuse
        features fused in (once per ``forward``)."""
        fusing, reuse, keep = self._take_reuse()
        if not fusing:
            return None

        def fuse(primary, reuse):
            return self.reuse_fusion(
                primary, None if reuse is None else self.reuse_stem(reuse))

        return fuse_kept(fuse, output, reuse, keep, self._reuse_parameters())

    def _reuse_parameters(self):
        """The parameters of the reuse modules (branch and fusion)."""
        return (param for name in self.reuse_modules
                for param in getattr(self, name).parameters())


class StemReuseMixin(MaskAnyNetMixin):
    """Feature-level fusion right after the stem (MaskViT, MaskSwin,
    MaskConvNeXt, MaskEfficientNetV2): the reuse arguments, checked; the
    upstream constructor; then :meth:`_build_reuse_branch`, which builds
    the reuse modules and hooks the fusion onto the stem. The fused
    features are signed (token embeddings, a LayerNorm's output): the
    alignment has no activation after its last layer unless
    ``alignment_cfg`` or :meth:`_alignment_defaults` say otherwise.

    ``first_frozen_stage``: the ``frozen_stages`` value from which the
    backbone freezes its stem, and with it the reuse branch.
    """
    first_frozen_stage = 0

    def __init__(self,
                 *args,
                 fusion: str = 'concat',
                 mask_ratio: float = 0.25,
                 reuse_at_test: str = 'downsample',
                 freeze_reuse: bool = True,
                 alignment_cfg: dict = dict(),
                 reuse_drop_prob: float = 0.,
                 **kwargs) -> None:
        self._check_reuse_args(fusion, FEATURE_FUSIONS, mask_ratio,
                               reuse_at_test, freeze_reuse, reuse_drop_prob)
        super().__init__(*args, **kwargs)
        self._build_reuse_branch(
            dict(self._alignment_defaults(), **alignment_cfg))
        self._track_fresh_norms()
        self._freeze_stages()

    def _alignment_defaults(self) -> dict:
        """The ``alignment_cfg`` keys a user does not set: no activation
        after the last layer, as the fused features are signed."""
        return dict(last_act=False)

    def _build_reuse_branch(self, alignment_cfg: dict) -> None:
        raise NotImplementedError

    def _reuse_is_frozen(self) -> bool:
        return self.frozen_stages >= self.first_frozen_stage

    def forward(
        self, inputs: Union[torch.Tensor, MaskedInputs]
    ) -> Tuple[torch.Tensor, ...]:
        return self._forward_fusing(*self._split_inputs(inputs))


class TokenReuseMixin(StemReuseMixin):
    """Reuse patch embedding and token fusion of MaskViT and MaskSwin.

    The upstream ``forward`` runs on the masked image; a forward hook on its
    patch embedding fuses the reuse image's tokens into the output, before
    anything else (class token, position embedding) touches them.
    """
    reuse_modules = ('reuse_patch_embed', 'reuse_fusion')

    def _build_reuse_branch(self, alignment_cfg: dict) -> None:
        self.reuse_patch_embed = reuse_patch_embed(self.patch_embed,
                                                   math.sqrt(self.mask_ratio))
        self.reuse_fusion = ReuseFusion(self.embed_dims, self.fusion,
                                        alignment_cfg)
        self.patch_embed.register_forward_hook(self._fuse_reuse_tokens)

    def _freeze_stages(self) -> None:
        # upstream ViT's and Swin's freeze their position embedding whatever
        # frozen_stages is (their constructors call it only above 0)
        if self._reuse_is_frozen():
            super()._freeze_stages()

    def _fuse_reuse_tokens(self, patch_embed, args, output):
        """Forward hook of ``patch_embed``: its ``(tokens, grid)`` with the
        reuse tokens fused in; untouched when the patch embedding runs on
        its own (outside this backbone's ``forward``)."""
        fusing, reuse, keep = self._take_reuse()
        if not fusing:
            return None
        tokens, grid = output

        def fuse(tokens, reuse):
            reuse_tokens = reuse_grid = None
            if reuse is not None:
                reuse_tokens, reuse_grid = self.reuse_patch_embed(reuse)
            return fuse_tokens(self.reuse_fusion, tokens, reuse_tokens, grid,
                               reuse_grid)

        return fuse_kept(fuse, tokens, reuse, keep,
                         self._reuse_parameters()), grid
