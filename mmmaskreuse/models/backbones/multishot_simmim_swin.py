"""Multi-shot SimMIM Swin, the encoder of two-shot SimMIM.

A Swin keeps every position to the end, so a shot replaces positions with a
learned mask token instead of dropping them. Shot 1 is SimMIM's own mask
(``SimMIMMaskGenerator``, 32-px mask patches, the mask token after the patch
embedding). Shot ``s > 1`` masks before stage ``mask_layers[s]``: a fraction
``mask_ratios[s]`` of the 32-px *cells* still visible there (not masked by an
earlier shot) is replaced, at every position of the cell, by a mask token of
that stage's width. The stage's input is the output of the stage before,
after its patch merging, so the token has the stage's own width. The
reconstruction target is the union of the shots' cells. Stages are counted
from 0: ``L(0, 3; 0.6, 0.1)`` is ``mask_layers=(0, 3)``,
``mask_ratios=(0.6, 0.1)``; at 192 px (6 x 6 cells) shot 1 masks
``ceil(36 * 0.6) = 22`` cells and shot 2 ``14 - int(14 * 0.9) = 2`` more.

The cell sampling lives in :mod:`mmmaskreuse.masking.cell_shots`.
"""
import functools
import math
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.selfsup import SimMIMSwinTransformer
from torch import nn

from mmmaskreuse.masking.cell_shots import (cells_to_grid, check_shots,
                                            grid_to_cells, random_cell_keep)
from mmmaskreuse.registry import MODELS


@MODELS.register_module()
class MultiShotSimMIMSwin(SimMIMSwinTransformer):
    """SimMIM Swin that masks again before chosen stages.

    With one shot (``mask_layers=(0, )``) it is mmpretrain's
    ``SimMIMSwinTransformer``: the same parameters, the same features for the
    same mask. Without a mask (``forward(x, mask=None)``) it is the plain
    ``SwinTransformer``.

    A later shot acts through a forward pre-hook on its stage, so the stage
    loop stays mmpretrain's (no copy of its forward) and the weights keep
    their names; the mask tokens of later shots are
    ``stage_mask_tokens.{s - 2}``, which a fine-tune's ``SwinTransformer``
    ignores.

    Args:
        arch (str | dict): Swin Transformer architecture. Defaults to 'T'.
        img_size (int | tuple): Input image size. Defaults to 224.
        mask_layers (Sequence[int]): Stage before which each shot masks: 0
            first (SimMIM's mask after the patch embedding), strictly
            increasing, below the number of stages. Defaults to (0, ).
        mask_ratios (Sequence[float]): Each in [0, 1). The first is the
            ``mask_ratio`` of the pipeline's ``SimMIMMaskGenerator`` (a
            mask of another ratio raises ``ValueError``); a later one is the
            fraction of the cells still visible that its shot masks.
            Defaults to (0.6, ).
        mask_patch_size (int): Side of a cell in pixels, the generator's
            ``mask_patch_size``. Defaults to 32.
        **kwargs: Other arguments of ``SimMIMSwinTransformer``.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'T',
                 img_size: Union[Tuple[int, int], int] = 224,
                 mask_layers: Sequence[int] = (0, ),
                 mask_ratios: Sequence[float] = (0.6, ),
                 mask_patch_size: int = 32,
                 **kwargs) -> None:
        super().__init__(arch=arch, img_size=img_size, **kwargs)
        check_shots(mask_layers, mask_ratios, len(self.stages), unit='stage')
        if not (isinstance(mask_patch_size, int) and mask_patch_size > 0
                and mask_patch_size % 2**(len(self.stages) + 1) == 0):
            raise ValueError(
                'mask_patch_size must be a positive multiple of the '
                f'encoder stride {2**(len(self.stages) + 1)}, got '
                f'mask_patch_size={mask_patch_size!r}')
        self.mask_layers = tuple(mask_layers)
        self.mask_ratios = tuple(float(ratio) for ratio in mask_ratios)
        self.mask_patch_size = mask_patch_size
        self.stage_mask_tokens = nn.ParameterList([
            nn.Parameter(torch.zeros(1, 1, self.stages[stage].embed_dims))
            for stage in self.mask_layers[1:]
        ])
        for shot, stage in enumerate(self.mask_layers[1:], start=1):
            self.stages[stage].register_forward_pre_hook(
                functools.partial(self._mask_stage_input, shot))
        # shot -> [B, h, w] cells it masks, set for one masked forward
        self._pending_cells: Dict[int, torch.Tensor] = {}

    @property
    def num_shots(self) -> int:
        """Number of maskings."""
        return len(self.mask_layers)

    def init_weights(self) -> None:
        """Initialise as SimMIM, and the later shots' tokens as its token."""
        super().init_weights()
        if not (isinstance(self.init_cfg, dict)
                and self.init_cfg['type'] == 'Pretrained'):
            for token in self.stage_mask_tokens:
                trunc_normal_(token, mean=0, std=.02)

    def cells_masked_per_shot(self, num_cells: int) -> Tuple[int, ...]:
        """Cells each shot masks per sample, out of ``num_cells``.

        Shot 1 rounds as ``SimMIMMaskGenerator`` (``ceil(n * ratio)``
        masked), a later shot as our ViT shots (``int(n * (1 - ratio))``
        of the ``n`` visible kept).

        Args:
            num_cells (int): Cells of the image.

        Returns:
            tuple[int, ...]: One count a shot.
        """
        masked = [math.ceil(num_cells * self.mask_ratios[0])]
        visible = num_cells - masked[0]
        for ratio in self.mask_ratios[1:]:
            kept = int(visible * (1 - ratio))
            masked.append(visible - kept)
            visible = kept
        return tuple(masked)

    def _mask_stage_input(self, shot: int, stage: nn.Module,
                          args: tuple) -> Optional[tuple]:
        """Forward pre-hook of the stage of ``shot``: its masked cells enter
        the stage as this shot's mask token."""
        cells = self._pending_cells.get(shot)
        if cells is None:  # no mask, or a shot of ratio 0
            return None
        x, hw_shape = args  # x: [B, H * W, C]
        weight = cells_to_grid(cells, hw_shape).flatten(1).unsqueeze(-1)
        weight = weight.type_as(x)  # [B, H * W, 1]
        token = self.stage_mask_tokens[shot - 1]  # [1, 1, C]
        return x * (1. - weight) + token * weight, hw_shape

    def draw_shots(self, images: torch.Tensor,
                   mask: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """The cells of every shot.

        Args:
            images (torch.Tensor): [B, C, H, W].
            mask (torch.Tensor): [B, H / 4, W / 4], SimMIM's mask at the
                patch embedding's positions, 1 where masked.

        Returns:
            tuple[torch.Tensor, ...]: [B, h, w] bool a shot, the cells it
            masked (``h = H / mask_patch_size``).
        """
        grid = (images.shape[2] // self.mask_patch_size,
                images.shape[3] // self.mask_patch_size)
        first = grid_to_cells(mask, grid)  # [B, h, w]
        expected = self.cells_masked_per_shot(grid[0] * grid[1])[0]
        if not bool((first.flatten(1).sum(1) == expected).all()):
            raise ValueError(
                f'mask_ratios[0]={self.mask_ratios[0]} masks {expected} of '
                f'the {grid[0] * grid[1]} cells, the mask masks '
                f'{first.flatten(1).sum(1).tolist()}: set the same '
                "mask_ratio in the pipeline's SimMIMMaskGenerator")
        shots = [first]
        visible = ~first
        for ratio in self.mask_ratios[1:]:
            if ratio == 0:  # draws no random numbers
                shots.append(torch.zeros_like(first))
                continue
            kept = random_cell_keep(visible, ratio)
            shots.append(visible & ~kept)
            visible = kept
        return tuple(shots)

    def forward(self, x: torch.Tensor,
                mask: Optional[torch.Tensor]) -> Sequence:
        """Encode with multi-shot masking, or without mask.

        Args:
            x (torch.Tensor): Images, [B, C, H, W].
            mask (torch.Tensor, optional): SimMIM's mask [B, H / 4, W / 4]
                (pre-training), or None (the plain ``SwinTransformer``).

        Returns:
            tuple: Without mask, ``SwinTransformer``'s outputs. With mask:

            - ``outs``: ``SimMIMSwinTransformer``'s outputs.
            - ``shot_masks``: tuple of [B, H / 4, W / 4] float, 1 where shot
              ``s`` masked (shot 1's is ``mask``); they do not overlap.
        """
        if mask is None:
            return super().forward(x, None)
        shots = self.draw_shots(x, mask)
        self._pending_cells = {
            shot: cells
            for shot, cells in enumerate(shots[1:], start=1)
            if self.mask_ratios[shot] > 0
        }
        try:
            outs = super().forward(x, mask)
        finally:
            self._pending_cells = {}
        size = tuple(mask.shape[1:])
        shot_masks = (mask.float(), ) + tuple(
            cells_to_grid(cells, size).float() for cells in shots[1:])
        return outs, shot_masks
