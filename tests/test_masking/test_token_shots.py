import pytest
import torch

from mmmaskreuse.masking.token_shots import (kept_tokens_per_shot,
                                             random_token_keep,
                                             shot_of_patches)


def test_kept_tokens_round_as_mae_shot_after_shot():
    # ViT-B/16 at 224: L(0, 10, 11; 0.75, 0.1, 0.1)
    assert kept_tokens_per_shot(196, (0.75, 0.1, 0.1)) == [49, 44, 39]
    assert kept_tokens_per_shot(196, (0.75, 0.0)) == [49, 49]


def test_a_shot_keeps_a_random_subset_of_the_visible_tokens():
    batch, length = 3, 10
    tokens = torch.arange(length).float().expand(batch, -1)[..., None]
    ids = torch.arange(length).expand(batch, -1)
    kept, ids = random_token_keep(tokens, ids, 6)  # shot 1: 10 -> 6
    assert torch.equal(kept[..., 0].long(), ids[:, :6])
    second, ids_after = random_token_keep(kept, ids, 2)  # shot 2: 6 -> 2
    assert torch.equal(second[..., 0].long(), ids_after[:, :2])
    # shot 2 picks among the 6 kept, and leaves shot 1's ranks alone
    for sample in range(batch):
        assert set(ids_after[sample, :6].tolist()) == set(
            ids[sample, :6].tolist())
    assert torch.equal(ids_after[:, 6:], ids[:, 6:])
    shots = shot_of_patches(torch.argsort(ids_after, dim=1), [6, 2])
    assert (shots == 1).sum(1).tolist() == [4] * batch
    assert (shots == 2).sum(1).tolist() == [4] * batch
    assert (shots == 0).sum(1).tolist() == [2] * batch


def test_a_seeded_generator_gives_the_same_shot():
    tokens = torch.randn(2, 16, 4)
    ids = torch.arange(16).expand(2, -1)
    first = random_token_keep(tokens, ids, 4, torch.Generator().manual_seed(3))
    again = random_token_keep(tokens, ids, 4, torch.Generator().manual_seed(3))
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    with pytest.raises(ValueError, match=r'num_keep must be in \[0, 16\]'):
        random_token_keep(tokens, ids, 17)
