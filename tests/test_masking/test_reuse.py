"""Claims about the masked image and the reuse image."""
import numpy as np
import pytest
import torch
from PIL import Image

from mmmaskreuse.masking import (MaskReuse, PatchMask, downsample_to_reuse,
                                 mask_and_reuse,
                                 reference_mask_and_reuse_numpy, reuse_size)
from mmmaskreuse.registry import MASK_GENERATORS

# (generator config, image size H, W)
CASES = [
    (dict(type='PatchMask'), (32, 32)),
    (dict(type='GridMask'), (32, 48)),
    (dict(type='RandomMask', grid_size=(4, 8)), (16, 24)),
    (dict(type='CombinedMask'), (64, 64)),
    (dict(type='GridMask', mask_ratio=1 / 9, grid_size=(6, 6),
          period=3), (30, 36)),
    (dict(type='RandomMask', mask_ratio=0.0625), (40, 24)),
]


def sample(cfg, size, batch=8, channels=3, seed=0):
    gen = MASK_GENERATORS.build(cfg)
    rng = torch.Generator().manual_seed(seed)
    # +1 keeps every pixel away from the fill values used below
    images = torch.rand(batch, channels, *size, generator=rng) + 1
    return gen, images, gen(batch, generator=rng)


def pixel_mask(cell_mask, size):
    """[B, gh, gw] cell mask -> [B, 1, H, W] pixel mask."""
    ch, cw = size[0] // cell_mask.shape[1], size[1] // cell_mask.shape[2]
    pixels = cell_mask.repeat_interleave(ch, 1).repeat_interleave(cw, 2)
    return pixels[:, None]


@pytest.mark.parametrize('cfg,size', CASES)
@pytest.mark.parametrize('fill_value', [0., -0.5])
def test_batched_version_equals_the_numpy_reference(cfg, size, fill_value):
    gen, images, cell_mask = sample(cfg, size)
    masked, reuse = mask_and_reuse(images, cell_mask, gen.reuse_grid,
                                   fill_value)
    want_masked, want_reuse = reference_mask_and_reuse_numpy(
        images.numpy(), cell_mask.numpy(), gen.reuse_grid, fill_value)
    assert torch.equal(masked, torch.from_numpy(want_masked))
    assert torch.equal(reuse, torch.from_numpy(want_reuse))


@pytest.mark.parametrize('cfg,size', CASES)
def test_reuse_image_holds_exactly_the_masked_pixels(cfg, size):
    gen, _, cell_mask = sample(cfg, size, channels=2)
    # every pixel value is unique, so values identify positions
    images = torch.arange(cell_mask.shape[0] * 2 * size[0] * size[1],
                          dtype=torch.float64).view(-1, 2, *size)
    _, reuse = mask_and_reuse(images, cell_mask, gen.reuse_grid)
    (gh, gw), (rh, rw) = gen.grid_size, gen.reuse_grid
    assert reuse.shape == (8, 2, rh * size[0] // gh, rw * size[1] // gw)
    where = pixel_mask(cell_mask, size).expand_as(images)
    for image, selected, stitched in zip(images, where, reuse):
        assert torch.equal(image[selected].sort().values,
                           stitched.flatten().sort().values)


@pytest.mark.parametrize('cfg,size', CASES)
def test_masked_image_is_fill_on_masked_cells_and_original_elsewhere(
        cfg, size):
    gen, images, cell_mask = sample(cfg, size)
    masked, _ = mask_and_reuse(images, cell_mask, gen.reuse_grid, 0.5)
    where = pixel_mask(cell_mask, size).expand_as(images)
    assert masked.shape == images.shape
    assert (masked[where] == 0.5).all()
    assert torch.equal(masked[~where], images[~where])


def test_patch_reuse_image_is_the_block_itself():
    gen, images, cell_mask = sample(dict(type='PatchMask'), (32, 48))
    _, reuse = mask_and_reuse(images, cell_mask, gen.reuse_grid)
    for image, mask, stitched in zip(images, cell_mask, reuse):
        top, left = mask.nonzero()[0].tolist()
        block = image[:, top * 4:(top + 4) * 4, left * 6:(left + 4) * 6]
        assert torch.equal(stitched, block)


def test_reuse_cells_follow_raster_order():
    images = torch.arange(16.).view(1, 1, 4, 4)
    cell_mask = torch.tensor([[[False, True, False, True],
                               [False, False, False, False],
                               [True, False, False, False],
                               [False, False, False, True]]])
    _, reuse = mask_and_reuse(images, cell_mask, (2, 2))
    assert reuse.tolist() == [[[[1., 3.], [8., 15.]]]]


def test_bad_inputs_are_rejected():
    images = torch.rand(2, 3, 30, 32)
    cell_mask = PatchMask()(2)
    with pytest.raises(ValueError, match=r'H=30, W=32.*grid_size=\(8, 8\)'):
        mask_and_reuse(images, cell_mask, (4, 4))
    with pytest.raises(ValueError, match=r'H=30, W=32.*grid_size=\(8, 8\)'):
        MaskReuse(dict(type='CombinedMask'))(images)
    with pytest.raises(ValueError, match=r'H=30, W=32.*grid_size=\(8, 8\)'):
        downsample_to_reuse(images, (4, 4), (8, 8))
    images = torch.rand(2, 3, 32, 32)
    with pytest.raises(ValueError, match=r'reuse_grid=\(2, 2\)'):
        mask_and_reuse(images, cell_mask, (2, 2))
    with pytest.raises(ValueError, match='cell_mask'):
        mask_and_reuse(images, cell_mask.float(), (4, 4))
    with pytest.raises(ValueError, match=r'prob.*1\.5'):
        MaskReuse(dict(type='PatchMask'), prob=1.5)


# Padded batches (detection, segmentation): image sizes inside a 70 x 90
# batch, some not divisible by the 8 x 8 grid, one filling the batch.
PADDED_SIZES = [(70, 90), (64, 64), (37, 81), (8, 8), (69, 41)]


def padded(cfg, seed=0, pad_value=-3.):
    gen = MASK_GENERATORS.build(cfg)
    rng = torch.Generator().manual_seed(seed)
    images = torch.full((len(PADDED_SIZES), 3, 70, 90), pad_value)
    for image, (h, w) in zip(images, PADDED_SIZES):
        image[:, :h, :w] = torch.rand(3, h, w, generator=rng) + 1
    return gen, images, gen(len(PADDED_SIZES), generator=rng)


@pytest.mark.parametrize('cfg', [c for c, _ in CASES[:4]])
@pytest.mark.parametrize('fill_value', [0., -0.5])
def test_padded_images_are_masked_and_stitched_as_if_cropped(
        cfg, fill_value):
    gen, images, cell_mask = padded(cfg)
    masked, reuse = mask_and_reuse(images, cell_mask, gen.reuse_grid,
                                   fill_value,
                                   image_sizes=torch.tensor(PADDED_SIZES),
                                   pad_value=-3.)
    assert reuse.shape == (5, 3, *reuse_size(70, 90, gen.mask_ratio))
    gh, gw = gen.grid_size
    rh, rw = gen.reuse_grid
    for i, (h, w) in enumerate(PADDED_SIZES):
        # the grid covers the image's top-left (h // gh * gh) x (w // gw * gw)
        grid_h, grid_w = h // gh * gh, w // gw * gw
        crop = images[i:i + 1, :, :grid_h, :grid_w]
        want_masked, want_reuse = mask_and_reuse(crop, cell_mask[i:i + 1],
                                                 gen.reuse_grid, fill_value)
        assert torch.equal(masked[i, :, :grid_h, :grid_w], want_masked[0])
        assert (masked[i, :, :grid_h, :grid_w] == fill_value).sum() == (
            3 * grid_h * grid_w * gen.mask_ratio)
        # the rest of the image (less than a cell) and the padding stay
        outside = torch.ones(70, 90, dtype=torch.bool)
        outside[:grid_h, :grid_w] = False
        assert torch.equal(masked[i][:, outside], images[i][:, outside])
        # the reuse image fills the canvas's top-left; the rest is padding
        reuse_h, reuse_w = rh * (h // gh), rw * (w // gw)
        assert torch.equal(reuse[i, :, :reuse_h, :reuse_w], want_reuse[0])
        assert (reuse[i, :, reuse_h:] == -3).all()
        assert (reuse[i, :, :, reuse_w:] == -3).all()
        # no padding pixel is stitched: every reused pixel is image content
        assert (reuse[i, :, :reuse_h, :reuse_w] >= 1).all()


def test_padded_path_equals_the_plain_path_on_unpadded_images():
    gen, images, cell_mask = sample(dict(type='CombinedMask'), (64, 96))
    sizes = torch.tensor([[64, 96]] * len(images))
    plain = mask_and_reuse(images, cell_mask, gen.reuse_grid)
    padded_result = mask_and_reuse(images, cell_mask, gen.reuse_grid,
                                   image_sizes=sizes)
    for a, b in zip(plain, padded_result):
        assert torch.equal(a, b)


def test_mask_reuse_on_padded_batches_keeps_unmasked_samples_whole():
    _, images, _ = padded(dict(type='CombinedMask'))
    sizes = torch.tensor(PADDED_SIZES)
    rng = torch.Generator().manual_seed(3)
    pair = MaskReuse(dict(type='CombinedMask'), prob=0.5)(
        images, rng, image_sizes=sizes, pad_value=-3.)
    masked_samples = pair.cell_mask.flatten(1).any(1)
    assert 0 < masked_samples.sum() < len(images)
    whole = MaskReuse(dict(type='CombinedMask')).downsample(images)
    for i, was_masked in enumerate(masked_samples):
        if not was_masked:
            assert torch.equal(pair.masked_image[i], images[i])
            assert torch.equal(pair.reuse_image[i], whole[i])


@pytest.mark.parametrize('sizes,match', [
    ([[7, 90]] * 5, r'\(7, 90\).*grid_size=\(8, 8\).*70 x 90'),
    ([[71, 90]] * 5, r'\(71, 90\).*inside the batch'),
    ([[70, 90]] * 4, r'image_sizes must have shape \[B=5, 2\]'),
])
def test_bad_image_sizes_are_rejected(sizes, match):
    gen, images, cell_mask = padded(dict(type='CombinedMask'))
    with pytest.raises(ValueError, match=match):
        MaskReuse(dict(type='CombinedMask'))(images,
                                             image_sizes=torch.tensor(sizes))
    with pytest.raises(ValueError, match=match):
        mask_and_reuse(images, cell_mask, gen.reuse_grid,
                       image_sizes=torch.tensor(sizes))


def test_downsample_is_the_whole_image_antialiased_at_reuse_size():
    images = torch.rand(2, 3, 32, 48,
                        generator=torch.Generator().manual_seed(0))
    small = downsample_to_reuse(images, (4, 4), (8, 8))
    assert small.shape == (2, 3, 16, 24)
    # Pillow's bilinear filter widens with the scale (antialiasing): the
    # reference an aliased (nearest, plain bilinear) resize does not meet
    want = torch.stack([
        torch.stack([
            torch.from_numpy(np.array(Image.fromarray(
                channel.numpy(), mode='F').resize((24, 16), Image.BILINEAR)))
            for channel in image
        ]) for image in images
    ])
    assert torch.allclose(small, want, atol=1e-5)


def test_prob_0_leaves_images_and_reuses_the_downsampled_image():
    transform = MaskReuse(dict(type='CombinedMask'), prob=0.)
    images = torch.rand(4, 3, 32, 32)
    masked, reuse, cell_mask = transform(images)
    assert torch.equal(masked, images)
    assert torch.equal(reuse, downsample_to_reuse(images, (4, 4), (8, 8)))
    assert torch.equal(reuse, transform.downsample(images))
    assert cell_mask.shape == (4, 8, 8) and not cell_mask.any()


def test_prob_masks_some_samples_and_leaves_the_others():
    transform = MaskReuse(dict(type='RandomMask'), prob=0.5, fill_value=-1.)
    images = torch.rand(64, 3, 16, 16)
    masked, reuse, cell_mask = transform(
        images, generator=torch.Generator().manual_seed(0))
    applied = cell_mask.flatten(1).any(1)
    assert 10 < int(applied.sum()) < 54
    assert cell_mask[applied].flatten(1).sum(1).eq(16).all()
    want_masked, want_reuse = mask_and_reuse(images[applied],
                                             cell_mask[applied], (4, 4), -1.)
    assert torch.equal(masked[applied], want_masked)
    assert torch.equal(reuse[applied], want_reuse)
    assert torch.equal(masked[~applied], images[~applied])
    assert torch.equal(reuse[~applied], transform.downsample(images)[~applied])


@pytest.mark.parametrize('mask', ['RandomMask', 'AuthorsGridMask'])
def test_prob_is_the_fraction_of_samples_masked(mask):
    """The authors' 0.2: about a fifth of 2000 samples masked (binomial
    std 0.009), for cell masks and pixel masks alike."""
    transform = MaskReuse(dict(type=mask), prob=0.2)
    images = torch.rand(2000, 1, 16, 16)
    _, _, mask = transform(images, torch.Generator().manual_seed(0))
    assert abs(mask.flatten(1).any(1).float().mean().item() - 0.2) < 0.04


def test_mask_reuse_is_deterministic_under_a_seed():
    transform = MaskReuse(dict(type='CombinedMask'), prob=0.5)
    images = torch.rand(16, 3, 32, 32)
    first, second = (transform(images,
                               torch.Generator().manual_seed(3))
                     for _ in range(2))
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    masked, reuse, cell_mask = MaskReuse(dict(type='PatchMask'))(images)
    assert cell_mask.flatten(1).sum(1).eq(16).all()
    assert reuse.shape == (16, 3, 16, 16)


def test_masking_imports_nothing_from_models():
    import ast
    import pathlib

    import mmmaskreuse.masking as masking
    for path in pathlib.Path(masking.__file__).parent.glob('*.py'):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or '']
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not any('models' in name for name in names), path


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('cfg,size', CASES)
def test_cuda_gives_the_cpu_result(cfg, size):
    gen, images, cell_mask = sample(cfg, size)
    on_cpu = mask_and_reuse(images, cell_mask, gen.reuse_grid, 0.5)
    on_cuda = mask_and_reuse(images.cuda(), cell_mask.cuda(), gen.reuse_grid,
                             0.5)
    for want, got in zip(on_cpu, on_cuda):
        assert got.device.type == 'cuda'
        assert torch.equal(want, got.cpu())
    transform = MaskReuse(cfg, prob=0.5)
    masked, reuse, mask = transform(images.cuda(),
                                    torch.Generator().manual_seed(1))
    assert masked.is_cuda and reuse.is_cuda and mask.is_cuda
    want = transform(images, torch.Generator().manual_seed(1))
    assert torch.equal(want[0], masked.cpu())
    assert torch.equal(want[2], mask.cpu())
    assert torch.allclose(want[1], reuse.cpu(), atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_gives_the_cpu_result_on_padded_batches():
    gen, images, cell_mask = padded(dict(type='CombinedMask'))
    sizes = torch.tensor(PADDED_SIZES)
    on_cpu = mask_and_reuse(images, cell_mask, gen.reuse_grid,
                            image_sizes=sizes, pad_value=-3.)
    on_cuda = mask_and_reuse(images.cuda(), cell_mask.cuda(), gen.reuse_grid,
                             image_sizes=sizes, pad_value=-3.)
    for want, got in zip(on_cpu, on_cuda):
        assert got.is_cuda
        assert torch.equal(want, got.cpu())
