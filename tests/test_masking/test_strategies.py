"""Claims about the cell masks: area, shape of each strategy, randomness."""
import pytest
import torch

from mmmaskreuse.masking import (CombinedMask, GridMask, PatchMask, RandomMask,
                                 build_mask_generator)
from mmmaskreuse.registry import MASK_GENERATORS

STRATEGIES = ['PatchMask', 'GridMask', 'RandomMask', 'CombinedMask']
# (mask_ratio, grid_size, Grid period, reuse grid)
SETTINGS = [
    (0.25, (8, 8), 2, (4, 4)),
    (0.25, (4, 4), 2, (2, 2)),
    (0.25, (4, 8), 2, (2, 4)),
    (1 / 9, (6, 6), 3, (2, 2)),
    (0.0625, (8, 8), 4, (2, 2)),
    (4 / 9, (6, 6), 3, (4, 4)),
]


def build(strategy, mask_ratio=0.25, grid_size=(8, 8), period=2, **kwargs):
    cfg = dict(type=strategy,
               mask_ratio=mask_ratio,
               grid_size=grid_size,
               **kwargs)
    if strategy in ('GridMask', 'CombinedMask'):
        cfg['period'] = period
    return MASK_GENERATORS.build(cfg)


def is_block(mask, reuse_grid):
    """Whether a [gh, gw] mask is one contiguous rh x rw block."""
    rows, cols = mask.nonzero(as_tuple=True)
    top, left = int(rows.min()), int(cols.min())
    rh, rw = reuse_grid
    return bool(mask[top:top + rh, left:left + rw].all()) and \
        int(mask.sum()) == rh * rw


def is_lattice(mask, period, square):
    """Whether a [gh, gw] mask repeats a c x c square every ``period``."""
    tile = mask[:period, :period]
    gh, gw = mask.shape
    tiled = tile.repeat(gh // period, gw // period)
    return torch.equal(mask, tiled) and is_block(tile, (square, square))


@pytest.mark.parametrize('strategy', STRATEGIES)
@pytest.mark.parametrize('mask_ratio,grid_size,period,reuse_grid', SETTINGS)
def test_every_strategy_masks_exactly_the_reuse_grid_area(
        strategy, mask_ratio, grid_size, period, reuse_grid):
    gen = build(strategy, mask_ratio, grid_size, period)
    assert gen.reuse_grid == reuse_grid
    cell_mask = gen(32, generator=torch.Generator().manual_seed(0))
    assert cell_mask.dtype == torch.bool
    assert cell_mask.shape == (32, *grid_size)
    area = reuse_grid[0] * reuse_grid[1]
    assert cell_mask.flatten(1).sum(1).tolist() == [area] * 32
    assert round(mask_ratio * grid_size[0] * grid_size[1]) == area


@pytest.mark.parametrize('mask_ratio,grid_size,period,reuse_grid', SETTINGS)
def test_patch_is_one_block_at_every_position(mask_ratio, grid_size, period,
                                              reuse_grid):
    cell_mask = PatchMask(mask_ratio, grid_size)(
        2000, generator=torch.Generator().manual_seed(1))
    assert all(is_block(m, reuse_grid) for m in cell_mask)
    corners = {tuple(m.nonzero()[0].tolist()) for m in cell_mask}
    positions = ((grid_size[0] - reuse_grid[0] + 1) *
                 (grid_size[1] - reuse_grid[1] + 1))
    assert len(corners) == positions


@pytest.mark.parametrize('mask_ratio,grid_size,period,reuse_grid', SETTINGS)
def test_grid_is_a_regular_lattice_with_the_period(mask_ratio, grid_size,
                                                   period, reuse_grid):
    gen = GridMask(mask_ratio, grid_size, period)
    cell_mask = gen(500, generator=torch.Generator().manual_seed(2))
    square = reuse_grid[0] * period // grid_size[0]
    assert gen.square == square
    assert all(is_lattice(m, period, square) for m in cell_mask)
    # row and column offsets are independent and cover [0, p - c]
    offsets = {
        tuple(m[:period, :period].nonzero()[0].tolist())
        for m in cell_mask
    }
    assert len(offsets) == (period - square + 1)**2


def test_random_masks_every_cell_equally_often():
    cell_mask = RandomMask(0.25,
                           (8, 8))(4000,
                                   generator=torch.Generator().manual_seed(3))
    frequency = cell_mask.float().mean(0)
    assert (frequency - 0.25).abs().max() < 0.05


def test_combined_produces_both_kinds_over_a_batch():
    gen = CombinedMask(0.25, (8, 8), patch_prob=0.5, period=2)
    cell_mask = gen(64, generator=torch.Generator().manual_seed(4))
    patches = [is_block(m, (4, 4)) for m in cell_mask]
    lattices = [is_lattice(m, 2, 1) for m in cell_mask]
    assert all(p != g for p, g in zip(patches, lattices))
    assert 10 < sum(patches) < 54
    for patch_prob, want_patch in [(1., True), (0., False)]:
        gen = CombinedMask(0.25, (8, 8), patch_prob=patch_prob)
        assert all(is_block(m, (4, 4)) == want_patch for m in gen(16))


@pytest.mark.parametrize('strategy', STRATEGIES)
def test_same_seed_same_masks_other_seed_other_masks(strategy):
    gen = build(strategy)

    def sample(seed):
        return gen(32, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(sample(0), sample(0))
    assert not torch.equal(sample(0), sample(1))
    torch.manual_seed(5)
    first = gen(32)
    torch.manual_seed(5)
    assert torch.equal(first, gen(32))


@pytest.mark.parametrize('strategy', STRATEGIES)
@pytest.mark.parametrize('mask_ratio,grid_size,period,reuse_grid', SETTINGS)
def test_sample_gives_the_masked_cells_in_raster_order(
        strategy, mask_ratio, grid_size, period, reuse_grid):
    gen = build(strategy, mask_ratio, grid_size, period)
    seed = torch.Generator().manual_seed(8)
    cell_mask, order = gen.sample(64, generator=seed)
    assert order.dtype == torch.long
    assert order.shape == (64, reuse_grid[0] * reuse_grid[1])
    for mask, cells in zip(cell_mask, order):
        assert cells.tolist() == mask.flatten().nonzero()[:, 0].tolist()
    again = gen(64, generator=torch.Generator().manual_seed(8))
    assert torch.equal(again, cell_mask)


def test_listed_strategies_draw_each_mask_with_its_probability():
    gen = CombinedMask(0.25, (8, 8), patch_prob=0.3, period=2)
    masks, probs = gen.listed()
    assert masks.shape == (25 + 4, 8, 8)
    assert len({tuple(m.flatten().tolist()) for m in masks}) == 29
    assert float(probs.sum()) == pytest.approx(1.0)
    cell_mask = gen(40000, generator=torch.Generator().manual_seed(9))
    drawn = (cell_mask.flatten(1)[:, None] == masks.flatten(1)).all(-1)
    assert drawn.sum(1).eq(1).all()  # every draw is one listed mask
    frequency = drawn.double().mean(0)
    assert frequency[:25].sum() == pytest.approx(0.3, abs=0.01)
    assert (frequency - probs).abs().max() < 0.005
    # masks of probability 0 are never drawn, whatever the draw
    for patch_prob, listed in [(0.0, slice(25, None)), (1.0, slice(0, 25))]:
        gen = CombinedMask(0.25, (8, 8), patch_prob=patch_prob)
        masks = gen.listed()[0][listed]
        cell_mask = gen(4000, generator=torch.Generator().manual_seed(10))
        drawn = (cell_mask.flatten(1)[:, None] == masks.flatten(1)).all(-1)
        assert drawn.any(1).all()


@pytest.mark.parametrize('strategy', STRATEGIES)
def test_masks_differ_across_samples_of_a_batch(strategy):
    cell_mask = build(strategy)(32, generator=torch.Generator().manual_seed(6))
    assert len({tuple(m.flatten().tolist()) for m in cell_mask}) > 1


@pytest.mark.parametrize('strategy', STRATEGIES)
def test_registry_and_helper_build_every_strategy(strategy):
    gen = build_mask_generator(dict(type=strategy))
    assert type(gen).__name__ == strategy
    assert gen.reuse_grid == (4, 4) and gen.grid_size == (8, 8)
    assert build_mask_generator(gen) is gen
    scoped = MASK_GENERATORS.build(dict(type=f'mmmaskreuse.{strategy}'))
    assert type(scoped) is type(gen)


@pytest.mark.parametrize('mask_ratio', [0, 1, 1.5, -0.25, True, '0.25'])
def test_mask_ratio_outside_0_1_is_rejected(mask_ratio):
    with pytest.raises(ValueError, match=f'mask_ratio.*{mask_ratio!r}'):
        PatchMask(mask_ratio=mask_ratio)


@pytest.mark.parametrize('strategy', STRATEGIES)
@pytest.mark.parametrize('mask_ratio,grid_size,bad', [
    (0.3, (8, 8), r'mask_ratio=0\.3.*grid_size\[0\]=8'),
    (0.25, (8, 5), r'mask_ratio=0\.25.*grid_size\[1\]=5'),
    (1 / 9, (8, 8), r'mask_ratio=0\.111.*grid_size\[0\]=8'),
    (1e-14, (8, 8), r'mask_ratio=1e-14'),
])
def test_ratio_the_grid_cannot_realise_is_rejected(strategy, mask_ratio,
                                                   grid_size, bad):
    with pytest.raises(ValueError, match=bad):
        build(strategy, mask_ratio, grid_size)


@pytest.mark.parametrize('strategy', ['GridMask', 'CombinedMask'])
@pytest.mark.parametrize('mask_ratio,grid_size,period,bad', [
    (0.25, (8, 8), 3, r'mask_ratio=0\.25.*period=3'),
    (1 / 9, (6, 6), 2, r'period=2'),
    (0.25, (6, 6), 4, r'grid_size=\(6, 6\).*period=4'),
    (0.25, (8, 8), 0, r'period.*0'),
    (0.25, (8, 8), 2.0, r'period.*2\.0'),
])
def test_grid_period_that_does_not_fit_is_rejected(strategy, mask_ratio,
                                                   grid_size, period, bad):
    with pytest.raises(ValueError, match=bad):
        build(strategy, mask_ratio, grid_size, period)


@pytest.mark.parametrize(
    'grid_size',
    [8, (8, ), (8, 8, 8), (8, 0), (-8, 8), (8.0, 8), (True, 8), '88', None])
def test_grid_size_must_be_two_positive_ints(grid_size):
    with pytest.raises(ValueError,
                       match=r'grid_size.*' +
                       __import__('re').escape(repr(grid_size))):
        RandomMask(grid_size=grid_size)


@pytest.mark.parametrize('patch_prob', [-0.1, 1.5, None])
def test_patch_prob_outside_0_1_is_rejected(patch_prob):
    with pytest.raises(ValueError, match=f'patch_prob.*{patch_prob}'):
        CombinedMask(patch_prob=patch_prob)


def test_unknown_strategy_error_lists_the_known_ones():
    for bad in ['BlockMask', 'mmdet.PatchMask', 'torch.nn.Linear']:
        with pytest.raises(ValueError, match=bad) as info:
            build_mask_generator(dict(type=bad))
        for name in STRATEGIES:
            assert name in str(info.value)
    with pytest.raises(ValueError, match='type'):
        build_mask_generator(dict(mask_ratio=0.25))


def test_bad_batch_size_is_rejected():
    with pytest.raises(ValueError, match='batch_size.*-1'):
        PatchMask()(-1)
    assert PatchMask()(0).shape == (0, 8, 8)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('strategy', STRATEGIES)
def test_masks_on_cuda_match_cpu_under_one_seed(strategy):
    gen = build(strategy)
    on_cpu = gen(64, generator=torch.Generator().manual_seed(7))
    on_cuda = gen(64,
                  device='cuda',
                  generator=torch.Generator().manual_seed(7))
    assert on_cuda.device.type == 'cuda'
    assert torch.equal(on_cpu, on_cuda.cpu())
    cuda_gen = torch.Generator('cuda').manual_seed(7)
    on_cuda = gen(64, device='cuda', generator=cuda_gen)
    assert on_cuda.flatten(1).sum(1).eq(gen.num_masked).all()
