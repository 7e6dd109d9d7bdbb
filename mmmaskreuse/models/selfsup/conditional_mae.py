"""Conditional MAE: MAE pre-training with multi-shot masking.

The encoder (:class:`~mmmaskreuse.models.backbones.MultiShotMAEViT`) masks
once at the input and again before later blocks; the decoder
(mmpretrain's ``MAEPretrainDecoder``) gets the final visible tokens and a
mask token at every patch any shot removed; the target is the union of the
shots' patches. A patch removed at block ``j`` was seen by blocks ``< j``:
its reconstruction is *conditioned* on what it left in the tokens that stay.
"""
from numbers import Real
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmpretrain.models.selfsup import MAE
from mmpretrain.structures import DataSample
from torch import nn

from mmmaskreuse.registry import MODELS
from ..backbones.multishot_mae_vit import MultiShotMAEViT
from .shot_losses import losses_with_shots, shot_losses


@MODELS.register_module()
class ConditionalMAE(MAE):
    """Conditional MAE (an empirical study of multiple masking in MAE).

    Loss: MAE's pixel loss (``MAEPretrainHead``, normalised pixels with
    ``norm_pix=True``) over the union of all shots' patches, or, with
    ``shot_loss_weights``, ``sum_s w_s * loss over the patches of shot s``
    (the paper's Tab. 3 uses the mask ratios as weights). The loss of every
    shot is logged as ``rec_shot1``, ``rec_shot2`` ... (the paper's Fig. 7).

    Args:
        backbone (dict | nn.Module): A ``MultiShotMAEViT``.
        neck (dict | nn.Module, optional): The decoder, e.g.
            ``MAEPretrainDecoder``. Defaults to None.
        head (dict | nn.Module, optional): ``MAEPretrainHead``. Defaults to
            None.
        shot_loss_weights (Sequence[float], optional): One non-negative
            weight a shot. Defaults to None (one loss over the union).
        target_generator (dict, optional): Unused by MAE; kept for the
            signature of ``BaseSelfSupervisor``. Defaults to None.
        pretrained (str, optional): Checkpoint to initialise from. Defaults
            to None.
        data_preprocessor (dict | nn.Module, optional): Defaults to None
            (``SelfSupDataPreprocessor``).
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 backbone: Union[dict, nn.Module],
                 neck: Optional[Union[dict, nn.Module]] = None,
                 head: Optional[Union[dict, nn.Module]] = None,
                 shot_loss_weights: Optional[Sequence[float]] = None,
                 target_generator: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            target_generator=target_generator,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if not isinstance(self.backbone, MultiShotMAEViT):
            raise ValueError(
                f'{type(self).__name__} needs a mmmaskreuse.MultiShotMAEViT '
                f'backbone, got {type(self.backbone).__name__}')
        if shot_loss_weights is not None:
            shot_loss_weights = self._check_weights(shot_loss_weights)
        self.shot_loss_weights = shot_loss_weights

    def _check_weights(self, weights: Sequence[float]) -> Tuple[float, ...]:
        num_shots = self.backbone.num_shots
        if (not isinstance(weights, (tuple, list))
                or len(weights) != num_shots or not all(
                    isinstance(w, Real) and not isinstance(w, bool) and w >= 0
                    for w in weights) or sum(weights) == 0):
            raise ValueError(
                f'shot_loss_weights must be {num_shots} non-negative numbers '
                f'(one a shot of mask_layers={self.backbone.mask_layers}), '
                f'not all zero, got shot_loss_weights={weights!r}')
        return tuple(float(w) for w in weights)

    def loss(self, inputs: torch.Tensor, data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Reconstruction loss of one batch.

        Args:
            inputs (torch.Tensor): Images, [B, C, H, W].
            data_samples (List[DataSample]): Unused (no labels).

        Returns:
            dict[str, torch.Tensor]: ``loss`` (what is optimised) and the
            detached ``rec_shot{s}`` of every shot that masked a patch.
        """
        latent, mask, ids_restore, shot_masks = self.backbone(inputs)
        pred = self.neck(latent, ids_restore)  # [B, L, p * p * C]
        target = self.head.construct_target(inputs)  # [B, L, p * p * C]
        # a shot that removed nothing (ratio 0, or rounding) has no loss;
        # the counts are known from the shapes, so no device sync is needed
        kept = self.backbone.kept_per_shot(mask.shape[1])
        removed = [
            before - after
            for before, after in zip([mask.shape[1]] + kept[:-1], kept)
        ]

        def loss_of_mask(shot_mask):
            return self.head.loss_module(pred, target, shot_mask)

        if self.shot_loss_weights is None:
            loss = self.head.loss_module(pred, target, mask)
            with torch.no_grad():
                per_shot = shot_losses(loss_of_mask, shot_masks, removed)
        else:
            per_shot = shot_losses(loss_of_mask, shot_masks, removed)
            loss = sum(weight * shot_loss for weight, shot_loss in zip(
                self.shot_loss_weights, per_shot) if shot_loss is not None)
        return losses_with_shots(loss, per_shot)
