"""Token shots of Conditional MAE: which patch tokens stay visible.

A shot removes a fraction of the patch tokens that are still visible, chosen
at random per sample. Every function here works on a whole batch and keeps
one bookkeeping tensor, ``ids_shuffle`` of shape [B, L]: the original patch
index of every rank. Ranks ``0 .. N-1`` name the ``N`` tokens still visible,
in the order they sit in the token tensor; the ranks after them name the
patches removed so far, the latest shot first. Its inverse,
``ids_restore = argsort(ids_shuffle)``, is what MAE's decoder takes to put
mask tokens back at their patches.

Pure tensor functions: the multi-shot MAE ViT calls them between its blocks.
"""
from typing import List, Optional, Sequence, Tuple

import torch


def num_kept_tokens(num_tokens: int, mask_ratio: float) -> int:
    """How many of ``num_tokens`` tokens a shot of ``mask_ratio`` keeps.

    Rounds as mmpretrain's ``MAEViT.random_masking`` does, so a first shot
    keeps exactly as many patches as MAE.

    Args:
        num_tokens (int): Visible tokens before the shot.
        mask_ratio (float): Fraction of them to remove, in [0, 1).

    Returns:
        int: ``int(num_tokens * (1 - mask_ratio))``.
    """
    return int(num_tokens * (1 - mask_ratio))


def kept_tokens_per_shot(num_patches: int,
                         mask_ratios: Sequence[float]) -> List[int]:
    """Visible patch tokens after each shot.

    Args:
        num_patches (int): Patches of the image (``L``).
        mask_ratios (Sequence[float]): Ratio of every shot, in order.

    Returns:
        list[int]: ``kept[s]`` tokens stay visible after shot ``s + 1``.
    """
    kept = []
    visible = num_patches
    for mask_ratio in mask_ratios:
        visible = num_kept_tokens(visible, mask_ratio)
        kept.append(visible)
    return kept


def gather_tokens(tokens: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Pick tokens by index, per sample.

    Args:
        tokens (torch.Tensor): [B, N, D].
        ids (torch.Tensor): [B, K] indices into the N tokens.

    Returns:
        torch.Tensor: [B, K, D], ``out[b, k] = tokens[b, ids[b, k]]``.
    """
    index = ids.unsqueeze(-1).expand(-1, -1, tokens.shape[-1])  # [B, K, D]
    return torch.gather(tokens, dim=1, index=index)


def random_token_keep(
        tokens: torch.Tensor,
        ids_shuffle: torch.Tensor,
        num_keep: int,
        generator: Optional[torch.Generator] = None
) -> Tuple[torch.Tensor, torch.Tensor]:
    """One shot: keep a random ``num_keep`` of the visible tokens per sample.

    Draws ``torch.rand(B, N)`` on the tokens' device (or ``generator``'s
    device, then moved), exactly the draw of MAE's ``random_masking``, so a
    first shot over all ``L`` patches reproduces MAE's mask for the same
    random state.

    Args:
        tokens (torch.Tensor): [B, N, D] the visible patch tokens, without
            the cls token, in the order of ``ids_shuffle[:, :N]``.
        ids_shuffle (torch.Tensor): [B, L] original patch index of every
            rank (see the module docstring). Before the first shot it is
            ``arange(L)`` for every sample.
        num_keep (int): Tokens to keep, ``0 <= num_keep <= N``.
        generator (torch.Generator, optional): Source of the random numbers.
            Defaults to None (the global generator).

    Returns:
        tuple[torch.Tensor, torch.Tensor]:

        - ``kept`` [B, num_keep, D]: the kept tokens.
        - ``ids_shuffle`` [B, L]: ranks ``< num_keep`` name the kept tokens
          in the order of ``kept``, ranks ``num_keep .. N-1`` the tokens this
          shot removed, later ranks are unchanged.
    """
    batch_size, num_visible, _ = tokens.shape
    if not 0 <= num_keep <= num_visible:
        raise ValueError(f'num_keep must be in [0, {num_visible}], got '
                         f'{num_keep}')
    source = generator.device if generator is not None else tokens.device
    noise = torch.rand(batch_size, num_visible, generator=generator,
                       device=source).to(tokens.device)  # [B, N]
    # ascending noise: the smallest num_keep stay, the rest are removed
    order = torch.argsort(noise, dim=1)  # [B, N]
    kept = gather_tokens(tokens, order[:, :num_keep])  # [B, num_keep, D]
    visible_ids = torch.gather(ids_shuffle[:, :num_visible], 1, order)
    ids_shuffle = torch.cat([visible_ids, ids_shuffle[:, num_visible:]],
                            dim=1)  # [B, L]
    return kept, ids_shuffle


def shot_of_patches(ids_restore: torch.Tensor,
                    kept_per_shot: Sequence[int]) -> torch.Tensor:
    """Which shot removed each patch (0: still visible at the end).

    Args:
        ids_restore (torch.Tensor): [B, L] rank of every patch, the inverse
            permutation of the final ``ids_shuffle``.
        kept_per_shot (Sequence[int]): Visible tokens after each shot, as
            returned by :func:`kept_tokens_per_shot`.

    Returns:
        torch.Tensor: [B, L] long; ``s >= 1`` where shot ``s`` removed the
        patch.
    """
    num_patches = ids_restore.shape[1]
    rank_to_shot = torch.zeros(
        num_patches, dtype=torch.long, device=ids_restore.device)  # [L]
    visible_before = [num_patches, *kept_per_shot[:-1]]
    for shot, (kept, visible) in enumerate(
            zip(kept_per_shot, visible_before), start=1):
        rank_to_shot[kept:visible] = shot
    return rank_to_shot[ids_restore]  # [B, L]
