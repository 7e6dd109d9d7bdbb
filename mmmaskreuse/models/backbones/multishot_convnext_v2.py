"""Multi-shot sparse ConvNeXt V2, the encoder of (two-shot) FCMAE.

FCMAE (ConvNeXt V2) masks 32-px cells of the image and encodes only the
visible ones, as a sparse convolutional network. mmpretrain's
``SparseConvNeXt`` (SparK's dense emulation) holds the visible cells in
``SparseHelper._cur_active``: every convolution's output and every
LayerNorm is zero at masked positions, and LayerNorm's statistics skip
them. ConvNeXt V2 adds GRN, whose per-channel statistics (the L2 norm over
the positions of a sample) must skip them as well: :class:`MaskedGRN` zeroes
masked positions before taking them, as the ConvNeXt V2 authors' masked
(dense) JAX GRN does. Their MinkowskiEngine GRN pools the active points of
the whole batch instead; we keep the per-sample statistics of the
fine-tuned (dense) GRN so that no sample reaches another.

Shot 1 keeps ``int(L * (1 - mask_ratios[0]))`` of the ``L`` cells, FCMAE's
count. Shot ``s > 1`` deactivates a fraction ``mask_ratios[s]`` of the
cells still active before stage ``mask_layers[s]`` (after that stage's
downsampling layer, which saw them): from there on they are zero, as if
never there, and take no part in any statistics. The cell sampling lives in
:mod:`mmmaskreuse.masking.cell_shots`.

The active map is global (``SparseHelper._cur_active``) and each shot
replaces it before its stage, so a block recomputed in the backward pass
(``with_cp``, activation checkpointing) would see the last shot's map
rather than its own. Each stage therefore checkpoints its blocks itself
(:class:`ActiveMapStage`), together with the map it ran with.
"""
import functools
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.utils.checkpoint as cp
from mmengine.model import Sequential
from mmpretrain.models.backbones import SparseConvNeXt
from mmpretrain.models.utils import GRN, SparseHelper
from torch import nn

from mmmaskreuse.masking.cell_shots import check_shots, random_cell_keep
from mmmaskreuse.masking.token_shots import kept_tokens_per_shot
from mmmaskreuse.registry import MODELS


def active_map(height: int) -> torch.Tensor:
    """[B, 1, height, height] float: 1 at positions of active cells."""
    return SparseHelper._get_active_map_or_index(H=height,
                                                 returning_active_map=True)


class MaskedGRN(GRN):
    """GRN whose statistics cover the active positions only.

    The same parameters as ``GRN``; masked positions are zeroed before the
    L2 norm over positions, so they add nothing to it. Their output is
    whatever it is: the block zeroes it after its last layer.
    """

    def forward(self, x: torch.Tensor,
                data_format: str = 'channel_first') -> torch.Tensor:
        """Apply GRN over the active positions.

        Args:
            x (torch.Tensor): [B, C, H, W] (``channel_first``) or
                [B, H, W, C] (``channel_last``).
            data_format (str): As ``GRN``. Defaults to 'channel_first'.

        Returns:
            torch.Tensor: The shape of ``x``.
        """
        if data_format == 'channel_last':
            active = active_map(x.shape[1]).permute(0, 2, 3, 1)  # [B,H,W,1]
        else:
            active = active_map(x.shape[2])  # [B, 1, H, W]
        return super().forward(x * active.type_as(x), data_format)


def _run_with_active(block: nn.Module, active: torch.Tensor,
                     x: torch.Tensor) -> torch.Tensor:
    """``block(x)`` with ``active`` as the active map, then the map of
    before put back."""
    before, SparseHelper._cur_active = SparseHelper._cur_active, active
    try:
        return block(x)
    finally:
        SparseHelper._cur_active = before


class ActiveMapStage(Sequential):
    """A stage of sparse ConvNeXt blocks whose activation checkpointing
    keeps the active map: with ``with_cp``, each block runs in a checkpoint
    that holds the map this stage saw when it ran (its shot's), and the
    recomputation in the backward pass runs with that map, whatever later
    shots made of the global one. The blocks are upstream's, built with
    ``with_cp=False``; the parameter names are those of upstream's stage.

    Args:
        *blocks (nn.Module): The blocks.
        with_cp (bool): Checkpoint each block (when its input needs a
            gradient). Defaults to False.
    """

    def __init__(self, *blocks: nn.Module, with_cp: bool = False) -> None:
        super().__init__(*blocks)
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        active = SparseHelper._cur_active  # set by this stage's shot, if any
        for block in self:
            if self.with_cp and x.requires_grad:
                x = cp.checkpoint(_run_with_active, block, active, x,
                                  use_reentrant=False)
            else:
                x = block(x)
        return x


@MODELS.register_module()
class MultiShotSparseConvNeXt(SparseConvNeXt):
    """Sparse ConvNeXt V2 that masks 32-px cells, again before chosen
    stages.

    Defaults make it ConvNeXt V2 (``use_grn=True``, no layer scale) with
    the feature map of the last stage as output, as FCMAE's decoder wants.
    With one shot it is FCMAE's encoder. Without a mask
    (``forward(x, mask=False)``) every cell is active: the dense ConvNeXt V2
    with the same weights (mmpretrain's ``ConvNeXt``, without its final
    norm).

    Args:
        arch (str | dict): ConvNeXt architecture. Defaults to 'base'.
        mask_layers (Sequence[int]): Stage before which each shot masks: 0
            first (the input), strictly increasing, below the number of
            stages. Defaults to (0, ).
        mask_ratios (Sequence[float]): Fraction of the still-active cells
            each shot masks, each in [0, 1). Defaults to (0.6, ).
        mask_patch_size (int): Side of a cell in pixels, a multiple of the
            encoder's stride. Defaults to 32.
        use_grn (bool): GRN in the blocks (ConvNeXt V2). Defaults to True.
        layer_scale_init_value (float): Defaults to 0. (none, as V2).
        gap_before_output (bool): Defaults to False (the feature map).
        with_cp (bool): Activation checkpointing of the blocks, by
            :class:`ActiveMapStage` (upstream's would recompute them with
            the last shot's active map). Defaults to False.
        **kwargs: Other arguments of ``SparseConvNeXt``.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 mask_layers: Sequence[int] = (0, ),
                 mask_ratios: Sequence[float] = (0.6, ),
                 mask_patch_size: int = 32,
                 use_grn: bool = True,
                 layer_scale_init_value: float = 0.,
                 gap_before_output: bool = False,
                 with_cp: bool = False,
                 **kwargs) -> None:
        super().__init__(
            arch=arch,
            use_grn=use_grn,
            layer_scale_init_value=layer_scale_init_value,
            gap_before_output=gap_before_output,
            with_cp=False,
            **kwargs)
        self.stages = nn.ModuleList(
            ActiveMapStage(*stage, with_cp=with_cp) for stage in self.stages)
        check_shots(mask_layers, mask_ratios, self.num_stages, unit='stage')
        stride = self.downsample_layers[0][0].stride[0] * 2**(
            self.num_stages - 1)
        if not (isinstance(mask_patch_size, int) and mask_patch_size > 0
                and mask_patch_size % stride == 0):
            raise ValueError(
                'mask_patch_size must be a positive multiple of the encoder '
                f'stride {stride}, got mask_patch_size={mask_patch_size!r}')
        self.mask_layers = tuple(mask_layers)
        self.mask_ratios = tuple(float(ratio) for ratio in mask_ratios)
        self.mask_patch_size = mask_patch_size
        for stage in self.stages:
            for block in stage:
                if block.grn is not None:
                    block.grn = MaskedGRN(block.grn.in_channels,
                                          block.grn.eps)
        for shot, stage in enumerate(self.mask_layers[1:], start=1):
            self.stages[stage].register_forward_pre_hook(
                functools.partial(self._mask_stage_input, shot))
        # shot -> [B, h, w] cells still active after it, for one forward
        self._pending_active: Dict[int, torch.Tensor] = {}

    @property
    def num_shots(self) -> int:
        """Number of maskings."""
        return len(self.mask_layers)

    def cells_masked_per_shot(self, num_cells: int) -> Tuple[int, ...]:
        """Cells each shot masks per sample, out of ``num_cells``.

        Args:
            num_cells (int): Cells of the image.

        Returns:
            tuple[int, ...]: One count a shot.
        """
        kept = kept_tokens_per_shot(num_cells, self.mask_ratios)
        return tuple(before - after
                     for before, after in zip([num_cells, *kept], kept))

    def _mask_stage_input(self, shot: int, stage: nn.Module,
                          args: tuple) -> Optional[tuple]:
        """Forward pre-hook of the stage of ``shot``: from here on only the
        cells still active after it count."""
        active = self._pending_active.get(shot)
        if active is None:  # no mask, or a shot of ratio 0
            return None
        SparseHelper._cur_active = active.unsqueeze(1).float()
        x, = args  # [B, C, H, W]
        return (x * active_map(x.shape[2]).type_as(x), )

    def draw_shots(self, images: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """The cells still active after each shot.

        Args:
            images (torch.Tensor): [B, C, H, W].

        Returns:
            tuple[torch.Tensor, ...]: [B, h, w] bool a shot
            (``h = H / mask_patch_size``).
        """
        rows, cols = (images.shape[2] // self.mask_patch_size,
                      images.shape[3] // self.mask_patch_size)
        active = torch.ones(images.shape[0], rows, cols, dtype=torch.bool,
                            device=images.device)
        after = []
        for ratio in self.mask_ratios:
            if ratio > 0:  # a shot of ratio 0 draws no random numbers
                active = random_cell_keep(active, ratio)
            after.append(active)
        return tuple(after)

    def forward(self, x: torch.Tensor, mask: Optional[bool] = True) -> tuple:
        """Encode the cells the shots leave, or everything.

        Args:
            x (torch.Tensor): Images, [B, C, H, W], sides multiples of
                ``mask_patch_size``.
            mask (bool, optional): Mask (pre-training) or not (every cell
                active). Defaults to True.

        Returns:
            tuple: Without mask, ``SparseConvNeXt``'s outputs. With mask:

            - ``outs``: ``SparseConvNeXt``'s outputs (the last stage's map
              [B, C, h, w], zero at every masked cell).
            - ``shot_masks``: tuple of [B, h * w] float, 1 at the cells shot
              ``s`` masked; they do not overlap.
        """
        if x.shape[2] % self.mask_patch_size or (x.shape[3] %
                                                 self.mask_patch_size):
            raise ValueError(
                f'image sides {tuple(x.shape[2:])} must be multiples of '
                f'mask_patch_size={self.mask_patch_size}')
        rows, cols = (x.shape[2] // self.mask_patch_size,
                      x.shape[3] // self.mask_patch_size)
        if mask is None or mask is False:
            SparseHelper._cur_active = x.new_ones(x.shape[0], 1, rows, cols)
            return super().forward(x)
        active = self.draw_shots(x)
        SparseHelper._cur_active = active[0].unsqueeze(1).float()
        self._pending_active = {
            shot: active[shot]
            for shot in range(1, self.num_shots)
            if self.mask_ratios[shot] > 0
        }
        try:
            outs = super().forward(x)
        finally:
            self._pending_active = {}
        before = (torch.ones_like(active[0]), ) + active[:-1]
        shot_masks = tuple((was & ~now).flatten(1).float()
                           for was, now in zip(before, active))
        return outs, shot_masks
