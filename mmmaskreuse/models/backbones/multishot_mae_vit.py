"""Multi-shot MAE ViT, the encoder of Conditional MAE.

Shot ``s`` masks right before encoder block ``mask_layers[s]`` with ratio
``mask_ratios[s]``. Shot 1 (block 0) is MAE's random masking of the patch
tokens; a later shot removes a fraction of the patch tokens *still visible*
at its block, per sample at random, and the blocks after it run on fewer
tokens. The cls token is never removed. The paper writes a spec as
``L(i, j, k; eta1, eta2, eta3)``: ``mask_layers=(i, j, k)``,
``mask_ratios=(eta1, eta2, eta3)``.

The token sampling lives in :mod:`mmmaskreuse.masking.token_shots`, the
spec check (shared with the Swin and ConvNeXt V2 versions) in
:mod:`mmmaskreuse.masking.cell_shots`.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmpretrain.models.selfsup import MAEViT

from mmmaskreuse.masking.cell_shots import check_shots
from mmmaskreuse.masking.token_shots import (kept_tokens_per_shot,
                                             random_token_keep,
                                             shot_of_patches)
from mmmaskreuse.registry import MODELS


@MODELS.register_module()
class MultiShotMAEViT(MAEViT):
    """MAE ViT that masks several times, before chosen encoder blocks.

    With one shot (``mask_layers=(0,)``) it is mmpretrain's ``MAEViT``: same
    parameters, same random draw, same visible tokens. Without a mask
    (``forward(x, mask=None)``) it is the plain ``VisionTransformer``.

    Args:
        arch (str | dict): Vision Transformer architecture. Defaults to 'b'.
        img_size (int | tuple): Input image size. Defaults to 224.
        patch_size (int | tuple): The patch size. Defaults to 16.
        mask_layers (Sequence[int]): Encoder block before which each shot
            masks: 0 first, strictly increasing, below the depth. Defaults
            to (0, ) (MAE).
        mask_ratios (Sequence[float]): Fraction of the still-visible patch
            tokens each shot removes, each in [0, 1); one per entry of
            ``mask_layers``. Defaults to (0.75, ).
        **kwargs: Other arguments of ``MAEViT`` / ``VisionTransformer``
            (``drop_path_rate``, ``out_type``, ``init_cfg`` ...), except
            ``mask_ratio``, which ``mask_ratios`` replaces.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'b',
                 img_size: int = 224,
                 patch_size: int = 16,
                 mask_layers: Sequence[int] = (0, ),
                 mask_ratios: Sequence[float] = (0.75, ),
                 **kwargs) -> None:
        if 'mask_ratio' in kwargs:
            raise ValueError(
                f'{type(self).__name__} takes mask_ratios (one a shot), not '
                f'mask_ratio={kwargs["mask_ratio"]!r}; a config inheriting '
                "mmpretrain's MAE backbone should set "
                'backbone=dict(_delete_=True, ...)')
        super().__init__(arch=arch, img_size=img_size, patch_size=patch_size,
                         **kwargs)
        check_shots(mask_layers, mask_ratios, self.num_layers)
        self.mask_layers = tuple(mask_layers)
        self.mask_ratios = tuple(float(ratio) for ratio in mask_ratios)
        self.mask_ratio = self.mask_ratios[0]  # MAEViT's name for shot 1
        kept = self.kept_per_shot(self.num_patches)
        if kept[-1] == 0:
            raise ValueError(
                f'mask_ratios={self.mask_ratios} leave no patch token of '
                f'{self.num_patches} visible (kept after each shot: {kept})')
        # block index -> 0-based index of the shot masking before it, for
        # the shots after the first
        self._shot_before_block: Dict[int, int] = {
            layer: shot
            for shot, layer in enumerate(self.mask_layers) if shot > 0
        }

    @property
    def num_shots(self) -> int:
        """Number of maskings."""
        return len(self.mask_layers)

    def kept_per_shot(self, num_patches: int) -> List[int]:
        """Visible patch tokens after each shot, for ``num_patches``.

        Args:
            num_patches (int): Patches of the input (``L``).

        Returns:
            list[int]: One count a shot; the last is what the final blocks
            and the decoder see (plus the cls token).
        """
        return kept_tokens_per_shot(num_patches, self.mask_ratios)

    def forward(self, x: torch.Tensor, mask: Optional[bool] = True) -> tuple:
        """Encode with multi-shot masking, or without mask.

        Args:
            x (torch.Tensor): Images, [B, C, H, W].
            mask (bool, optional): Mask (pre-training) or not (feature
                extraction, the ``VisionTransformer`` forward). Defaults to
                True.

        Returns:
            tuple: Without mask, ``VisionTransformer``'s outputs. With mask:

            - ``latent`` [B, 1 + N, C]: cls token and the ``N`` patch tokens
              visible after the last shot, after the final norm.
            - ``mask`` [B, L]: 1 where any shot masked the patch (the
              reconstruction target), 0 where visible, as MAE's.
            - ``ids_restore`` [B, L]: rank of every patch, for
              ``MAEPretrainDecoder`` (the visible tokens first, in latent
              order, then every masked patch).
            - ``shot_masks`` tuple of [B, L]: 1 where shot ``s`` masked.
        """
        if mask is None or mask is False:
            return super(MAEViT, self).forward(x)

        batch_size = x.shape[0]
        x = self.patch_embed(x)[0]  # [B, L, C]
        x = x + self.pos_embed[:, 1:, :]
        num_patches = x.shape[1]
        kept = self.kept_per_shot(num_patches)

        # shot 1, at the input: MAE's random masking, the same random draw
        ids_shuffle = torch.arange(
            num_patches, device=x.device).expand(batch_size, -1)  # [B, L]
        x, ids_shuffle = random_token_keep(x, ids_shuffle, kept[0])

        cls_token = self.cls_token + self.pos_embed[:, :1, :]
        x = torch.cat((cls_token.expand(batch_size, -1, -1), x),
                      dim=1)  # [B, 1 + kept[0], C]

        for index, layer in enumerate(self.layers):
            shot = self._shot_before_block.get(index)
            # a shot that removes nothing draws no random numbers, so ratio
            # 0 leaves the run (and its random state) exactly MAE's
            if shot is not None and kept[shot] < kept[shot - 1]:
                patch_tokens, ids_shuffle = random_token_keep(
                    x[:, 1:], ids_shuffle, kept[shot])
                x = torch.cat((x[:, :1], patch_tokens),
                              dim=1)  # [B, 1 + kept[shot], C]
            x = layer(x)
        x = self.norm1(x)

        ids_restore = torch.argsort(ids_shuffle, dim=1)  # [B, L]
        shot_index = shot_of_patches(ids_restore, kept)  # [B, L]
        union_mask = (shot_index > 0).float()
        shot_masks = tuple((shot_index == shot).float()
                           for shot in range(1, self.num_shots + 1))
        return x, union_mask, ids_restore, shot_masks
