"""Two-shot (multi-shot) SimMIM: Conditional MAE's shots on a Swin.

The encoder (:class:`~mmmaskreuse.models.backbones.MultiShotSimMIMSwin`)
takes SimMIM's mask as shot 1 and masks again before later stages; the
decoder and head are SimMIM's (``SimMIMLinearDecoder``, ``SimMIMHead``: L1
over masked pixels), over the union of the shots' cells.
"""
from typing import Dict, List

import torch
from mmpretrain.models.selfsup import SimMIM
from mmpretrain.structures import DataSample

from mmmaskreuse.registry import MODELS
from ..backbones.multishot_simmim_swin import MultiShotSimMIMSwin
from .shot_losses import losses_with_shots, shot_losses


@MODELS.register_module()
class MultiShotSimMIM(SimMIM):
    """SimMIM with Conditional MAE's multi-shot masking.

    Loss: SimMIM's L1 over the pixels of the union of every shot's cells;
    each shot's own loss is logged as ``rec_shot1``, ``rec_shot2`` ... With
    one shot it is mmpretrain's ``SimMIM``, loss for loss.

    Args:
        backbone (dict): A ``MultiShotSimMIMSwin``.
        **kwargs: Other arguments of ``SimMIM`` / ``BaseSelfSupervisor``
            (``neck``, ``head``, ``data_preprocessor``, ``init_cfg`` ...).
    """

    def __init__(self, backbone: dict, **kwargs) -> None:
        super().__init__(backbone=backbone, **kwargs)
        if not isinstance(self.backbone, MultiShotSimMIMSwin):
            raise ValueError(
                f'{type(self).__name__} needs a mmmaskreuse.'
                'MultiShotSimMIMSwin backbone, got '
                f'{type(self.backbone).__name__}')

    def loss(self, inputs: torch.Tensor, data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Reconstruction loss of one batch.

        Args:
            inputs (torch.Tensor): Images, [B, C, H, W].
            data_samples (List[DataSample]): Each with SimMIM's ``mask``.

        Returns:
            dict[str, torch.Tensor]: ``loss`` (what is optimised) and the
            detached ``rec_shot{s}`` of every shot that masked a cell.
        """
        mask = torch.stack([data_sample.mask for data_sample in data_samples])
        outs, shot_masks = self.backbone(inputs, mask)
        img_rec = self.neck(outs[0])  # [B, C, H, W]
        union = sum(shot_masks)  # the shots never overlap
        loss = self.head.loss(img_rec, inputs, union)
        cells = (inputs.shape[2] // self.backbone.mask_patch_size) * (
            inputs.shape[3] // self.backbone.mask_patch_size)
        with torch.no_grad():
            per_shot = shot_losses(
                lambda shot_mask: self.head.loss(img_rec, inputs, shot_mask),
                shot_masks, self.backbone.cells_masked_per_shot(cells))
        return losses_with_shots(loss, per_shot)
