"""Feature-level fusion of the reuse branch into the primary one."""
from typing import Callable, Iterable, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, constant_init

FEATURE_FUSIONS = ('concat', 'residual', 'add')
# fusions that are exactly the primary path without the reuse features:
# only these can drop the branch per sample, or be stripped for deployment
DROPPABLE_FUSIONS = ('residual', 'add')


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
        zero_init_last (bool): Start the last norm layer's scale at zero,
            so the module outputs zeros until it learns otherwise (the
            residual fusion). Defaults to False.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 channels: int,
                 hidden_channels: Optional[int] = None,
                 kernel_sizes: Sequence[int] = (1, 3, 1),
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 last_act: bool = True,
                 zero_init_last: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        hidden_channels = hidden_channels or max(channels // 2, 1)
        if not kernel_sizes or any(
                not isinstance(k, int) or k < 1 or k % 2 == 0
                for k in kernel_sizes):
            raise ValueError('kernel_sizes must be odd positive ints, got '
                             f'{kernel_sizes!r}')
        if zero_init_last and not norm_cfg:
            raise ValueError('zero_init_last needs a norm layer to zero, got '
                             f'norm_cfg={norm_cfg!r}')
        widths = [2 * channels] + [hidden_channels] * (
            len(kernel_sizes) - 1) + [channels]
        self.zero_init_last = zero_init_last
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
        self._zero_last_norm()

    def _zero_last_norm(self) -> None:
        if self.zero_init_last:
            constant_init(self.layers[-1].norm, 0)

    def init_weights(self) -> None:
        super().init_weights()
        self._zero_last_norm()  # after any init_cfg of a parent

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)


class ReuseFusion(BaseModule):
    """Fuse the reuse branch's feature map into the primary one.

    Modes:

    - ``'concat'``: ``FAM(cat(primary, reuse))``, as the paper draws it.
    - ``'residual'``: ``primary + FAM(cat(primary, reuse))`` with the FAM's
      last norm starting at zero and no activation after it (as the last
      BN of a ResNet block before its addition), so at step 0 the backbone
      computes
      exactly what its trunk alone computes: a pretrained trunk is kept
      intact while the fusion learns. Not in the paper or the authors'
      code (which add the two maps); ours.
    - ``'add'``: ``primary + reuse``, as in the authors' code.

    A reuse map of another size (CIFAR stems have no stride-2 step to drop;
    odd padded sizes round differently) is resized bilinearly to the
    primary map first. ``reuse=None`` (the branch off at test time) fuses
    zero reuse features: the FAM still runs, as in training.

    Reuse dropout (:data:`DROPPABLE_FUSIONS` only) is not done here but by
    :func:`fuse_kept`, which runs the branch and this module on the kept
    samples alone.

    Args:
        channels (int): C of both maps.
        mode (str): One of :data:`FEATURE_FUSIONS`. Defaults to
            ``'concat'``.
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
        self.alignment = None
        if mode == 'concat':
            self.alignment = FeatureAlignment(channels, **alignment_cfg)
        elif mode == 'residual':
            # no activation after the zeroed norm, as in a ResNet block
            # (whose last BN starts at zero before the addition): a ReLU
            # there would output 0 with a zero gradient, and the branch
            # would never learn
            self.alignment = FeatureAlignment(
                channels,
                **dict(alignment_cfg, zero_init_last=True, last_act=False))

    def forward(self, primary: torch.Tensor,
                reuse: Optional[torch.Tensor]) -> torch.Tensor:
        """Args:
            primary (Tensor): ``[B, C, H, W]``.
            reuse (Tensor, optional): ``[B, C, h, w]``, or None (zeros).
        """
        if reuse is None:
            reuse = torch.zeros_like(primary)
        reuse = resize_like(reuse, primary, 'bilinear')
        if self.alignment is None:
            return primary + reuse
        aligned = self.alignment(torch.cat([primary, reuse], dim=1))
        return primary + aligned if self.mode == 'residual' else aligned


def resize_like(x: torch.Tensor, ref: torch.Tensor,
                mode: str) -> torch.Tensor:
    """``x`` resized to the spatial size of ``ref`` (a no-op if equal)."""
    if x.shape[-2:] == ref.shape[-2:]:
        return x
    kwargs = dict(align_corners=False) if mode == 'bilinear' else {}
    return F.interpolate(x, size=ref.shape[-2:], mode=mode, **kwargs)


def draw_reuse_keep(batch_size: int, drop_prob: float,
                    device: torch.device) -> torch.Tensor:
    """Reuse dropout's draw: ``[batch_size]`` bool, each sample False
    (its reuse features dropped) with probability ``drop_prob``, alone."""
    return torch.rand(batch_size, device=device) >= drop_prob


def fuse_kept(fuse: Callable[[torch.Tensor, Optional[torch.Tensor]],
                              torch.Tensor],
              primary: torch.Tensor,
              reuse: Optional[torch.Tensor],
              keep: Optional[torch.Tensor],
              reuse_params: Iterable[nn.Parameter] = ()) -> torch.Tensor:
    """Reuse dropout: ``fuse(primary, reuse)`` (the reuse branch and the
    fusion) run on the samples that ``keep`` keeps, alone; a dropped
    sample's ``primary`` passes unchanged.

    The branch and the fusion never see a dropped sample, so its output and
    its gradient are those of the plain trunk exactly, and their
    BatchNorms' batch statistics (used in the kept samples' outputs and
    their running estimates) are the kept samples' alone. Masking the fused
    map after a whole-batch fusion would not do: a BatchNorm there mixes
    the dropped samples into every kept sample's normalisation, and
    gradient flows back to them through its statistics.

    Args:
        fuse (callable): ``(primary [b, ...], reuse [b, ...] or None) ->
            fused [b, ...]`` for any ``b`` samples.
        primary (Tensor): ``[B, ...]``, the trunk's features.
        reuse (Tensor, optional): ``[B, ...]``, the reuse image (or None).
        keep (Tensor, optional): ``[B]`` bool, False where a sample's reuse
            features are dropped. None keeps every sample.
        reuse_params (Iterable[Parameter]): The parameters of the branch
            and the fusion. When every sample is dropped they take part
            through a zero, so that they still get a (zero) gradient:
            DistributedDataParallel without ``find_unused_parameters``
            waits for one on every rank. Defaults to ().

    Returns:
        Tensor: The shape of ``primary``.
    """
    if keep is None:
        return fuse(primary, reuse)
    kept = keep.nonzero().squeeze(1)  # a synchronisation on the device
    if len(kept) == len(keep):
        return fuse(primary, reuse)
    if len(kept) == 0:
        trainable = [p.flatten()[0] for p in reuse_params if p.requires_grad]
        # the parameters are finite, so 0 * p is 0 and primary stays exact
        return primary + 0. * torch.stack(trainable).sum() \
            if trainable else primary
    fused = fuse(primary[kept], None if reuse is None else reuse[kept])
    return primary.index_copy(0, kept, fused)


def fuse_tokens(fusion: ReuseFusion,
                tokens: torch.Tensor,
                reuse_tokens: Optional[torch.Tensor],
                grid: Tuple[int, int],
                reuse_grid: Optional[Tuple[int, int]]) -> torch.Tensor:
    """:class:`ReuseFusion` on patch tokens [B, N, C] laid out on ``grid``."""

    def as_map(x, hw):
        return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], *hw)

    reuse = None if reuse_tokens is None else as_map(reuse_tokens,
                                                     reuse_grid)
    return fusion(as_map(tokens, grid), reuse).flatten(2).transpose(1, 2)
