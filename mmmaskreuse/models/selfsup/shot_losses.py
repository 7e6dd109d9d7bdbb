"""The per-shot losses every multi-shot algorithm logs.

``rec_shot1``, ``rec_shot2`` ... are the reconstruction losses over the
patches each shot masked (the paper's Fig. 7): logged, not optimised.
"""
from typing import Callable, Dict, List, Optional, Sequence

import torch


def shot_losses(loss_of_mask: Callable[[torch.Tensor], torch.Tensor],
                shot_masks: Sequence[torch.Tensor],
                removed: Sequence[int]) -> List[Optional[torch.Tensor]]:
    """The loss over each shot's patches.

    Args:
        loss_of_mask (Callable): Maps a mask (1 where the loss counts) to
            the reconstruction loss over it.
        shot_masks (Sequence[torch.Tensor]): One mask a shot.
        removed (Sequence[int]): Patches (or cells) each shot masked per
            sample; a shot that masked none has no loss (its mask would
            divide by zero). Known from the shapes, so no device sync.

    Returns:
        list[torch.Tensor | None]: One loss a shot, None where it masked
        nothing.
    """
    return [
        loss_of_mask(shot_mask) if count > 0 else None
        for shot_mask, count in zip(shot_masks, removed)
    ]


def losses_with_shots(
        loss: torch.Tensor,
        per_shot: Sequence[Optional[torch.Tensor]]) -> Dict[str, torch.Tensor]:
    """The loss dict of a multi-shot algorithm.

    Args:
        loss (torch.Tensor): What is optimised.
        per_shot (Sequence[torch.Tensor | None]): As :func:`shot_losses`.

    Returns:
        dict[str, torch.Tensor]: ``loss`` and a detached ``rec_shot{s}`` for
        every shot that masked something.
    """
    losses = dict(loss=loss)
    # mmengine's parse_losses adds every entry whose key contains 'loss' to
    # the optimised total; the per-shot values are logged only, so their
    # keys must not contain it.
    for shot, shot_loss in enumerate(per_shot, start=1):
        if shot_loss is not None:
            losses[f'rec_shot{shot}'] = shot_loss.detach()
    return losses
