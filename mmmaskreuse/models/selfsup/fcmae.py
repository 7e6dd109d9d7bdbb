"""FCMAE (ConvNeXt V2's masked autoencoder), with Conditional MAE's shots.

mmpretrain 1.2.0 has ConvNeXt V2 and SparK's sparse ConvNeXt but no FCMAE.
This is FCMAE as its paper and its authors' code define it: 32-px cells
masked at ratio 0.6, a sparse ConvNeXt V2 encoder
(:class:`~mmmaskreuse.models.backbones.MultiShotSparseConvNeXt`), a light
decoder (:class:`FCMAEDecoder`) and the MSE on per-patch normalised pixels
of the masked cells (mmpretrain's ``MAEPretrainHead`` with
``patch_size=32``, ``norm_pix=True``: the same target and loss). Later
shots deactivate more cells before later stages; the loss covers the union.
"""
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones.convnext import ConvNeXtBlock
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.structures import DataSample
from torch import nn

from mmmaskreuse.registry import MODELS
from ..backbones.multishot_convnext_v2 import MultiShotSparseConvNeXt
from .shot_losses import losses_with_shots, shot_losses


@MODELS.register_module()
class FCMAEDecoder(BaseModule):
    """FCMAE's decoder: a 1x1 projection, a mask token at masked cells, one
    ConvNeXt V2 block, a 1x1 prediction of each cell's pixels.

    Initialisation: the authors' code draws the mask token from N(0, 0.02)
    and every ``nn.Conv2d`` weight from a truncated N(0, 1); we keep their
    token and use mmpretrain's ConvNeXt init for the rest (truncated
    N(0, 0.02), zero bias), the encoder's.

    Args:
        in_channels (int): Channels of the encoder's last stage.
        embed_dims (int): Width of the decoder. Defaults to 512.
        depth (int): ConvNeXt V2 blocks. Defaults to 1.
        patch_size (int): Side of a cell in pixels. Defaults to 32.
        in_chans (int): Image channels. Defaults to 3.
        init_cfg (dict, optional): Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int = 512,
                 depth: int = 1,
                 patch_size: int = 32,
                 in_chans: int = 3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.proj = nn.Conv2d(in_channels, embed_dims, kernel_size=1)
        self.mask_token = nn.Parameter(torch.zeros(1, embed_dims, 1, 1))
        self.decoder = nn.Sequential(*[
            ConvNeXtBlock(embed_dims, use_grn=True,
                          layer_scale_init_value=0.) for _ in range(depth)
        ])
        self.pred = nn.Conv2d(embed_dims, patch_size**2 * in_chans,
                              kernel_size=1)

    def init_weights(self) -> None:
        """Truncated N(0, 0.02) weights, zero biases, N(0, 0.02) token."""
        super().init_weights()
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                trunc_normal_(module.weight, std=.02)
                nn.init.constant_(module.bias, 0)
        nn.init.normal_(self.mask_token, std=.02)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Predict the pixels of every cell.

        Args:
            x (torch.Tensor): [B, C, h, w], the encoder's last map.
            mask (torch.Tensor): [B, h * w], 1 at masked cells.

        Returns:
            torch.Tensor: [B, h * w, patch_size ** 2 * in_chans], in the
            order of ``MAEPretrainHead.patchify``.
        """
        x = self.proj(x)  # [B, D, h, w]
        weight = mask.view(x.shape[0], 1, *x.shape[2:]).type_as(x)
        x = x * (1. - weight) + self.mask_token * weight
        x = self.pred(self.decoder(x))  # [B, p * p * 3, h, w]
        return x.flatten(2).transpose(1, 2)


@MODELS.register_module()
class FCMAE(BaseSelfSupervisor):
    """FCMAE, and its multi-shot (Conditional MAE) variant.

    Loss: ``MAEPretrainHead``'s MSE over the union of every shot's cells;
    each shot's own loss is logged as ``rec_shot1``, ``rec_shot2`` ...

    Args:
        backbone (dict): A ``MultiShotSparseConvNeXt``.
        neck (dict): An ``FCMAEDecoder``.
        head (dict): ``MAEPretrainHead`` with ``patch_size`` the cell size.
        **kwargs: Other arguments of ``BaseSelfSupervisor``.
    """

    def __init__(self, backbone: dict, neck: dict, head: dict,
                 **kwargs) -> None:
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)
        if not isinstance(self.backbone, MultiShotSparseConvNeXt):
            raise ValueError(
                f'{type(self).__name__} needs a mmmaskreuse.'
                'MultiShotSparseConvNeXt backbone, got '
                f'{type(self.backbone).__name__}')
        if self.head.patch_size != self.backbone.mask_patch_size:
            raise ValueError(
                f'head.patch_size={self.head.patch_size} must be the '
                f'backbone mask_patch_size={self.backbone.mask_patch_size}')

    def extract_feat(self, inputs: torch.Tensor):
        """Features of every cell, without mask."""
        return self.backbone(inputs, mask=False)

    def loss(self, inputs: torch.Tensor,
             data_samples: Optional[List[DataSample]] = None,
             **kwargs) -> Dict[str, Union[torch.Tensor, List]]:
        """Reconstruction loss of one batch.

        Args:
            inputs (torch.Tensor): Images, [B, C, H, W].
            data_samples (List[DataSample], optional): Unused (no labels).

        Returns:
            dict[str, torch.Tensor]: ``loss`` (what is optimised) and the
            detached ``rec_shot{s}`` of every shot that masked a cell.
        """
        outs, shot_masks = self.backbone(inputs)
        union = sum(shot_masks)  # [B, L]; the shots never overlap
        pred = self.neck(outs[-1], union)  # [B, L, p * p * C]
        target = self.head.construct_target(inputs)  # [B, L, p * p * C]
        loss = self.head.loss_module(pred, target, union)
        with torch.no_grad():
            per_shot = shot_losses(
                lambda shot_mask: self.head.loss_module(
                    pred, target, shot_mask), shot_masks,
                self.backbone.cells_masked_per_shot(union.shape[1]))
        return losses_with_shots(loss, per_shot)
