"""Claims about AuthorsGridMask, the Grid mask of the authors' code."""
import re

import pytest
import torch
import torch.nn.functional as F

from mmmaskreuse.masking import (AuthorsGridMask, MaskReuse,
                                 authors_grid_mask_and_reuse,
                                 build_mask_generator, reuse_size)

SIZE = 224  # the paper's images; the reuse size is 112
# cell sizes (ch, cw) whose stitched sides are exactly 112 (they divide 112)
DIVIDING = [(4, 4), (7, 7), (8, 8), (14, 14), (16, 16), (4, 16), (16, 7),
            (14, 8)]
# cell sizes whose stitched sides are not 112 on one axis or both
RESAMPLED = [(5, 5), (6, 13), (9, 10), (11, 15), (13, 6), (15, 4), (12, 8),
             (7, 9)]


def reference(image, cell, out_size, fill_value=0., stride_factor=2):
    """One image [C, H, W], one cell size: masked image, pixel mask and the
    stitched image (its cells, cut one by one, laid out row by row),
    resized per image with F.interpolate when its size is not
    ``out_size``."""
    (ch, cw), (_, height, width) = cell, image.shape
    sh, sw = stride_factor * ch, stride_factor * cw
    # the authors' counts
    n_r = max(1, (height - ch + sh) // sh)
    n_c = max(1, (width - cw + sw) // sw)
    masked, mask = image.clone(), torch.zeros(height, width, dtype=bool)
    stitched_rows = []
    for r in range(n_r):
        row = []
        for c in range(n_c):
            top, left = r * sh, c * sw
            row.append(image[:, top:top + ch, left:left + cw])
            masked[:, top:top + ch, left:left + cw] = fill_value
            mask[top:top + ch, left:left + cw] = True
        stitched_rows.append(torch.cat(row, dim=2))
    stitched = torch.cat(stitched_rows, dim=1)
    assert stitched.shape[1:] == (n_r * ch, n_c * cw)
    if tuple(stitched.shape[1:]) == tuple(out_size):
        reuse = stitched
    else:
        reuse = F.interpolate(stitched[None],
                              size=tuple(out_size),
                              mode='bilinear',
                              align_corners=False)[0]
    return masked, mask, reuse, stitched


def images_of(batch, size=(SIZE, SIZE), seed=0, channels=3):
    rng = torch.Generator().manual_seed(seed)
    # +1 keeps every pixel away from the fill values used below
    return torch.rand(batch, channels, *size, generator=rng) + 1


def test_dividing_cell_sizes_stitch_pixel_exactly():
    images = images_of(len(DIVIDING))
    cells = torch.tensor(DIVIDING)
    masked, reuse, mask = authors_grid_mask_and_reuse(images, cells,
                                                      (112, 112),
                                                      fill_value=-0.5)
    assert reuse.shape == (len(DIVIDING), 3, 112, 112)
    for i, cell in enumerate(DIVIDING):
        want_masked, want_mask, want_reuse, stitched = reference(
            images[i], cell, (112, 112), -0.5)
        assert stitched.shape[1:] == (112, 112)  # no resampling
        assert torch.equal(reuse[i], want_reuse)
        assert torch.equal(masked[i], want_masked)
        assert torch.equal(mask[i], want_mask)


def test_other_cell_sizes_are_the_stitched_image_resized_bilinearly():
    images = images_of(len(RESAMPLED), seed=1)
    cells = torch.tensor(RESAMPLED)
    masked, reuse, mask = authors_grid_mask_and_reuse(images, cells,
                                                      (112, 112))
    for i, cell in enumerate(RESAMPLED):
        want_masked, want_mask, want_reuse, stitched = reference(
            images[i], cell, (112, 112))
        assert stitched.shape[1:] != (112, 112)  # resampled
        assert torch.allclose(reuse[i], want_reuse, atol=1e-5)
        assert torch.equal(masked[i], want_masked)
        assert torch.equal(mask[i], want_mask)


def test_non_square_images_and_other_stride_factors():
    images = images_of(4, size=(96, 160), seed=2)
    cells = torch.tensor([(4, 5), (8, 8), (6, 16), (12, 7)])
    out = reuse_size(96, 160, 0.25)
    for stride_factor in (2, 3):
        masked, reuse, mask = authors_grid_mask_and_reuse(
            images, cells, out, stride_factor, fill_value=0.5)
        for i, cell in enumerate(cells.tolist()):
            want_masked, want_mask, want_reuse, _ = reference(
                images[i], cell, out, 0.5, stride_factor)
            assert torch.allclose(reuse[i], want_reuse, atol=1e-5)
            assert torch.equal(masked[i], want_masked)
            assert torch.equal(mask[i], want_mask)


@pytest.mark.parametrize('cell', [4, 7, 8, 14, 16])
def test_a_quarter_is_masked_in_cells_from_the_top_left(cell):
    images = images_of(1, seed=3)
    masked, _, mask = authors_grid_mask_and_reuse(images,
                                                  torch.tensor([[cell, cell]]),
                                                  (112, 112), fill_value=0.)
    # the stride 2 * cell divides 224: exactly a quarter
    assert int(mask.sum()) == SIZE * SIZE // 4
    # a cell at the top-left corner, a gap of one cell after it
    assert mask[0, :cell, :cell].all()
    assert not mask[0, cell:2 * cell].any()
    assert not mask[0, :, cell:2 * cell].any()
    assert mask[0, 2 * cell:3 * cell, 2 * cell:3 * cell].all()
    assert torch.equal(masked[0][:, mask[0]],
                       torch.zeros(3, SIZE * SIZE // 4))
    assert torch.equal(masked[0][:, ~mask[0]], images[0][:, ~mask[0]])


def test_stitched_cells_follow_raster_order():
    # 8 x 8 image, 2 x 2 cells at stride 4: 2 x 2 cells, values = positions
    images = torch.arange(64.).view(1, 1, 8, 8)
    _, reuse, _ = authors_grid_mask_and_reuse(images, torch.tensor([[2, 2]]),
                                              (4, 4))
    assert reuse[0, 0].tolist() == [[0., 1., 4., 5.], [8., 9., 12., 13.],
                                    [32., 33., 36., 37.],
                                    [40., 41., 44., 45.]]
    # 3 rows of 1 x 2 cells, 2 columns
    images = torch.arange(48.).view(1, 1, 6, 8)
    _, reuse, _ = authors_grid_mask_and_reuse(images, torch.tensor([[1, 2]]),
                                              (3, 4))
    assert reuse[0, 0].tolist() == [[0., 1., 4., 5.], [16., 17., 20., 21.],
                                    [32., 33., 36., 37.]]


def test_every_sample_gets_its_own_cell_size():
    gen = AuthorsGridMask()
    cells = gen.draw_cells(4000, generator=torch.Generator().manual_seed(0))
    assert cells.dtype == torch.long and cells.shape == (4000, 2)
    for axis in range(2):
        assert set(cells[:, axis].tolist()) == set(range(4, 17))
        counts = torch.bincount(cells[:, axis] - 4, minlength=13).float()
        assert (counts / 4000 - 1 / 13).abs().max() < 0.02
    assert (cells[:, 0] != cells[:, 1]).float().mean() > 0.85  # independent
    narrow = AuthorsGridMask(cell_range=(7, 8)).draw_cells(
        500, generator=torch.Generator().manual_seed(1))
    assert set(narrow.flatten().tolist()) == {7, 8}


def test_a_batch_is_each_sample_masked_alone_with_its_cells():
    gen = AuthorsGridMask()
    images = images_of(12, seed=4)
    masked, reuse, mask = MaskReuse(gen, fill_value=-1.)(
        images, torch.Generator().manual_seed(5))
    cells = gen.draw_cells(12, generator=torch.Generator().manual_seed(5))
    assert len(set(map(tuple, cells.tolist()))) > 6
    for i in range(12):
        want_masked, want_mask, want_reuse, _ = reference(
            images[i], cells[i].tolist(), (112, 112), -1.)
        assert torch.equal(masked[i], want_masked)
        assert torch.equal(mask[i], want_mask)
        assert torch.allclose(reuse[i], want_reuse, atol=1e-5)
        alone = authors_grid_mask_and_reuse(images[i:i + 1], cells[i:i + 1],
                                            (112, 112), fill_value=-1.)
        assert torch.equal(alone[1][0], reuse[i])


def test_same_seed_same_masks_other_seed_other_masks():
    transform = MaskReuse(dict(type='AuthorsGridMask'), prob=0.5)
    images = images_of(16, size=(64, 48), seed=6)

    def run(seed):
        return transform(images, torch.Generator().manual_seed(seed))

    first, again, other = run(0), run(0), run(1)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first.cell_mask, other.cell_mask)
    torch.manual_seed(7)
    first = transform(images)
    torch.manual_seed(7)
    assert all(torch.equal(a, b) for a, b in zip(first, transform(images)))


def test_cell_mask_is_a_pixel_mask_that_its_consumers_read():
    from mmmaskreuse.analysis import entropy_gain
    from mmmaskreuse.masking import cell_mask_to_pixels
    images = images_of(16, size=(64, 64), seed=8) * 100
    transform = MaskReuse(dict(type='AuthorsGridMask'), prob=0.5)
    masked, reuse, mask = transform(images, torch.Generator().manual_seed(9))
    assert mask.dtype == torch.bool and mask.shape == (16, 64, 64)
    assert reuse.shape == (16, 3, 32, 32)
    applied = mask.flatten(1).any(1)
    assert 0 < int(applied.sum()) < 16
    assert torch.equal(masked[~applied], images[~applied])
    assert torch.equal(reuse[~applied], transform.downsample(images)[~applied])
    assert torch.equal(cell_mask_to_pixels(mask, (64, 64)), mask)
    assert (masked[:, 0][mask] == 0).all()
    assert entropy_gain(reuse, masked, mask).shape == (16, )
    masked, reuse, mask = MaskReuse(dict(type='AuthorsGridMask'),
                                    prob=0.)(images)
    assert masked is images and mask.shape == (16, 64, 64)
    assert not mask.any() and reuse.shape == (16, 3, 32, 32)


def test_config_builds_it_for_the_classification_preprocessor():
    from mmmaskreuse.registry import MODELS
    preprocessor = MODELS.build(
        dict(type='MaskReuseClsDataPreprocessor',
             mask_generator=dict(type='AuthorsGridMask',
                                 cell_range=(4, 8))))
    batch = [torch.randint(0, 255, (3, 32, 48), dtype=torch.uint8)] * 2
    inputs = preprocessor(dict(inputs=batch), training=True)['inputs']
    assert inputs.reuse_image.shape == (2, 3, 16, 24)
    assert inputs.cell_mask.shape == (2, 32, 48)


def test_padded_batches_are_refused():
    images = images_of(2, size=(64, 64))
    transform = MaskReuse(dict(type='AuthorsGridMask'))
    for sizes in ([[64, 64], [40, 50]], [[64, 64], [64, 64]]):
        with pytest.raises(
                ValueError,
                match=r'AuthorsGridMask\(.*\) is classification-only'):
            transform(images, image_sizes=torch.tensor(sizes))


@pytest.mark.parametrize('kwargs,bad', [
    (dict(mask_ratio=0.3), 'mask_ratio.*0.25.*got 0.3'),
    (dict(mask_ratio=1 / 9), 'mask_ratio.*got 0.111'),
    (dict(mask_ratio=True), 'mask_ratio.*True'),
    (dict(cell_range=(0, 16)), r'cell_range.*\(0, 16\)'),
    (dict(cell_range=(16, 4)), r'min <= max.*\(16, 4\)'),
    (dict(cell_range=(4, )), r'cell_range.*\(4,\)'),
    (dict(cell_range=(4.0, 16)), r'cell_range.*\(4.0, 16\)'),
    (dict(cell_range=(True, 16)), r'cell_range.*\(True, 16\)'),
    (dict(cell_range=None), 'cell_range.*None'),
    (dict(stride_factor=0), 'stride_factor.*0'),
    (dict(stride_factor=2.0), r'stride_factor.*2\.0'),
    (dict(source_size=0), 'source_size.*got 0'),
    (dict(source_size=(32, 32, 3)), r'source_size.*\(32, 32, 3\)'),
    (dict(source_size=32.0), 'source_size.*32.0'),
])
def test_bad_arguments_are_rejected_at_build(kwargs, bad):
    with pytest.raises(ValueError, match=bad):
        build_mask_generator(dict(type='AuthorsGridMask', **kwargs))
    with pytest.raises(ValueError, match=bad):
        MaskReuse(dict(type='AuthorsGridMask', **kwargs))


def test_bad_uses_are_rejected():
    gen = AuthorsGridMask()
    assert repr(gen) == ('AuthorsGridMask(mask_ratio=0.25, '
                         'cell_range=(4, 16), stride_factor=2, '
                         'source_size=None)')
    with pytest.raises(TypeError, match='AuthorsGridMask has no cell grid'):
        gen(4)
    with pytest.raises(TypeError, match='AuthorsGridMask has no cell grid'):
        gen.sample(4)
    with pytest.raises(ValueError,
                       match=re.escape('H=15, W=64 is smaller') +
                       r'.*cell_range=\(4, 16\)'):
        MaskReuse(gen)(torch.rand(2, 3, 15, 64))
    with pytest.raises(ValueError, match=r'\[B, C, H, W\]'):
        MaskReuse(gen)(torch.rand(3, 64, 64))
    with pytest.raises(ValueError, match='batch_size.*-1'):
        gen.draw_cells(-1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_gives_the_cpu_result():
    images = images_of(16, seed=10)
    transform = MaskReuse(dict(type='AuthorsGridMask'), prob=0.5)
    want = transform(images, torch.Generator().manual_seed(11))
    got = transform(images.cuda(), torch.Generator().manual_seed(11))
    assert all(g.is_cuda for g in got)
    assert torch.equal(want.masked_image, got.masked_image.cpu())
    assert torch.equal(want.cell_mask, got.cell_mask.cpu())
    assert torch.allclose(want.reuse_image, got.reuse_image.cpu(), atol=1e-5)


def _cell_size(mask):
    """(ch, cw) of an authors' lattice: the first run of masked rows and
    columns from the top-left corner."""
    rows, cols = mask.any(1), mask.any(0)
    return int(rows.int().argmin()), int(cols.int().argmin())


@pytest.mark.parametrize('patch_prob', [0., 0.5, 1.])
def test_combined_draws_a_patch_or_the_authors_grid_per_sample(patch_prob):
    images = images_of(32, size=(64, 64))
    pair = MaskReuse(dict(type='CombinedMask', grid='authors',
                          patch_prob=patch_prob),
                     fill_value=-1.)(images, torch.Generator().manual_seed(0))
    assert pair.cell_mask.shape == (32, 64, 64)
    assert pair.reuse_image.shape == (32, 3, 32, 32)
    patches = 0
    for image, masked, reuse, mask in zip(images, *pair):
        assert torch.equal(masked == -1, mask[None].expand_as(masked))
        rows = mask.any(1).nonzero().flatten()
        cols = mask.any(0).nonzero().flatten()
        top, left = int(rows[0]), int(cols[0])
        block = (len(rows) == len(cols) == 32 and top % 8 == 0
                 and left % 8 == 0 and bool(mask[top:top + 32,
                                                 left:left + 32].all()))
        if block:  # a Patch on the 8x8 cell grid: reuse is the block
            patches += 1
            assert torch.equal(reuse, image[:, top:top + 32, left:left + 32])
        else:  # the authors' Grid with this sample's cell size
            want_masked, want_mask, want_reuse, _ = reference(
                image, _cell_size(mask), (32, 32), fill_value=-1.)
            assert torch.equal(mask, want_mask)
            assert torch.equal(masked, want_masked)
            torch.testing.assert_close(reuse, want_reuse)
    assert patches == {0.: 0, 1.: 32}.get(patch_prob, patches)
    if patch_prob == 0.5:
        assert 8 <= patches <= 24


def test_combined_with_the_authors_grid_is_built_and_checked():
    gen = build_mask_generator(dict(type='CombinedMask', grid='authors'))
    assert repr(gen) == ("CombinedMask(mask_ratio=0.25, grid_size=(8, 8), "
                         "patch_prob=0.5, grid='authors', source_size=None)")
    assert MaskReuse(gen).masks_pixels
    assert not MaskReuse(dict(type='CombinedMask')).masks_pixels
    with pytest.raises(TypeError, match="grid='authors'.*MaskReuse"):
        gen(4)
    with pytest.raises(ValueError, match="grid must be.*'pixels'"):
        build_mask_generator(dict(type='CombinedMask', grid='pixels'))
    with pytest.raises(ValueError, match='supports only mask_ratio=0.25'):
        build_mask_generator(
            dict(type='CombinedMask', grid='authors', mask_ratio=0.5625,
                 grid_size=(8, 8)))
    with pytest.raises(ValueError, match='classification-only'):
        MaskReuse(gen)(images_of(2, size=(64, 64)),
                       image_sizes=torch.tensor([[64, 64], [40, 48]]))


@pytest.mark.parametrize('input_size', [32, 64, 224])
def test_cells_keep_their_source_pixel_size_whatever_the_input_size(
        input_size):
    """A 32-px source image gets 4-16 px cells in its own pixels: the mask
    of the same draws on the input upsampled by an integer factor is the
    source mask, each pixel repeated."""
    factor = input_size // 32
    source = AuthorsGridMask()
    scaled = AuthorsGridMask(source_size=32)
    images = images_of(64, size=(32, 32), seed=3)
    upsampled = images.repeat_interleave(factor, 2).repeat_interleave(
        factor, 3)
    _, reuse, mask = source.mask_and_reuse(
        images, (16, 16), generator=torch.Generator().manual_seed(5))
    _, reuse_up, mask_up = scaled.mask_and_reuse(
        upsampled, (input_size // 2, ) * 2,
        generator=torch.Generator().manual_seed(5))
    assert torch.equal(mask_up, mask.repeat_interleave(
        factor, 1).repeat_interleave(factor, 2))
    sides = {_cell_size(m) for m in mask}
    assert {side for pair in sides for side in pair} <= set(range(4, 17))
    assert len(sides) > 10  # many cell sizes drawn
    # the reuse image stitches the same cells: dividing sizes are exact
    for i, (ch, cw) in enumerate(_cell_size(m) for m in mask):
        if 16 % ch == 0 and 16 % cw == 0:
            assert torch.equal(
                reuse_up[i], reuse[i].repeat_interleave(
                    factor, 1).repeat_interleave(factor, 2))


def test_without_source_size_cells_are_input_pixels():
    """Today's default, masking after the resize: at 224 px the cells are
    4-16 px of the input, 7x finer than the authors' on CIFAR."""
    _, _, mask = AuthorsGridMask().mask_and_reuse(
        images_of(32, size=(224, 224)), (112, 112),
        generator=torch.Generator().manual_seed(0))
    assert max(max(_cell_size(m)) for m in mask) <= 16
    _, _, mask = AuthorsGridMask(source_size=32).mask_and_reuse(
        images_of(32, size=(224, 224)), (112, 112),
        generator=torch.Generator().manual_seed(0))
    assert {side % 7 for m in mask for side in _cell_size(m)} == {0}
    assert min(min(_cell_size(m)) for m in mask) >= 28


def test_source_size_reaches_combined_masks_and_needs_the_authors_grid():
    gen = build_mask_generator(
        dict(type='CombinedMask', grid='authors', source_size=(32, 32)))
    assert gen.grid.source_size == (32, 32)
    assert repr(gen).endswith("grid='authors', source_size=(32, 32))")
    with pytest.raises(ValueError, match="source_size.*grid='authors'"):
        build_mask_generator(dict(type='CombinedMask', source_size=32))
    # source images smaller than the cells: the largest cell named in
    # input pixels
    with pytest.raises(ValueError, match=r'largest cell.*32x32'):
        AuthorsGridMask(source_size=8).mask_and_reuse(
            images_of(1, size=(16, 16)), (8, 8))
