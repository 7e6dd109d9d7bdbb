"""The detection and segmentation preprocessors mask padded batches: the
grid is laid over each image, never over the padding, and the ground truth
is left alone."""
import pytest
import torch
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData, PixelData
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.structures import SegDataSample

from mmmaskreuse.masking import MaskedInputs, reuse_size
from mmmaskreuse.models.data_preprocessors import (
    MaskReuseDetDataPreprocessor, MaskReuseSegDataPreprocessor)

NORM = dict(mean=[128.] * 3, std=[64.] * 3)
MASKING = dict(mask_generator=dict(type='CombinedMask', mask_ratio=0.25))
SIZES = [(72, 100), (45, 90), (96, 51)]


def det_batch():
    inputs, samples = [], []
    for h, w in SIZES:
        # 255 normalises to about 2: far from the fill (0) and padding (0)
        inputs.append(torch.full((3, h, w), 255, dtype=torch.uint8))
        sample = DetDataSample(metainfo=dict(img_shape=(h, w)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[1., 2., 30., 40.]]),
            labels=torch.tensor([1]),
            masks=BitmapMasks(torch.ones(1, h, w).numpy(), h, w))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def seg_batch():
    inputs, samples = [], []
    rng = torch.Generator().manual_seed(0)
    for h, w in SIZES:
        inputs.append(torch.full((3, h, w), 255, dtype=torch.uint8))
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=torch.randint(
            0, 5, (1, h, w), dtype=torch.uint8, generator=rng))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


CASES = [
    (MaskReuseDetDataPreprocessor, DetDataPreprocessor, det_batch,
     dict(pad_size_divisor=32)),
    (MaskReuseSegDataPreprocessor, SegDataPreProcessor, seg_batch,
     dict(size=(96, 128))),
]


@pytest.mark.parametrize('ours,theirs,make_batch,kwargs', CASES)
def test_padding_is_never_masked_nor_stitched(ours, theirs, make_batch,
                                              kwargs):
    torch.manual_seed(0)
    plain = theirs(**NORM, **kwargs)(make_batch(), training=True)
    data = ours(**NORM, **kwargs, **MASKING)(make_batch(), training=True)
    pair = data['inputs']
    assert isinstance(pair, MaskedInputs)
    images = plain['inputs']
    assert pair.masked_image.shape == images.shape == (3, 3, 96, 128)
    assert pair.reuse_image.shape[-2:] == reuse_size(96, 128, 0.25)
    for i, (h, w) in enumerate(SIZES):
        image_area = torch.zeros(96, 128, dtype=torch.bool)
        image_area[:h, :w] = True
        # padding (0 after normalisation) is left as mmdet/mmseg made it
        assert torch.equal(pair.masked_image[i][:, ~image_area],
                           images[i][:, ~image_area])
        # a quarter of the image's grid is masked (to the fill value 0)
        grid_area = (h // 8 * 8) * (w // 8 * 8)
        masked = (pair.masked_image[i][0] == 0) & image_area
        assert masked.sum() == grid_area // 4
        # the reuse image holds exactly that many image pixels, at top-left
        content = pair.reuse_image[i][0] != 0
        assert content.sum() == grid_area // 4
        assert content[:h // 8 * 4, :w // 8 * 4].all()


@pytest.mark.parametrize('ours,theirs,make_batch,kwargs', CASES)
def test_ground_truth_and_eval_batches_are_untouched(ours, theirs, make_batch,
                                                     kwargs):
    plain = theirs(**NORM, **kwargs)(make_batch(), training=True)
    data = ours(**NORM, **kwargs, **MASKING)(make_batch(), training=True)
    for a, b in zip(plain['data_samples'], data['data_samples']):
        assert a.metainfo == b.metainfo
        if 'gt_instances' in a:
            assert torch.equal(a.gt_instances.bboxes, b.gt_instances.bboxes)
            assert (a.gt_instances.masks.masks ==
                    b.gt_instances.masks.masks).all()
        else:
            assert torch.equal(a.gt_sem_seg.data, b.gt_sem_seg.data)
    batch = make_batch()
    if theirs is SegDataPreProcessor:  # mmseg tests one size at a time
        batch = dict(inputs=batch['inputs'][:1],
                     data_samples=batch['data_samples'][:1])
    plain = theirs(**NORM, **kwargs)(batch, training=False)['inputs']
    ours_eval = ours(**NORM, **kwargs, **MASKING)(batch,
                                                  training=False)['inputs']
    assert torch.equal(plain, ours_eval)


def test_samples_without_img_shape_are_masked_whole():
    batch = det_batch()
    for sample in batch['data_samples']:
        del sample.img_shape
    preprocessor = MaskReuseDetDataPreprocessor(**NORM, **MASKING,
                                                pad_size_divisor=32)
    pair = preprocessor(batch, training=True)['inputs']
    # the grid covers the whole 96 x 128 batch: a quarter of it masked
    assert pair.cell_mask.flatten(1).sum(1).tolist() == [16, 16, 16]
    assert ((pair.masked_image == 0).flatten(1).float().mean(1) >= 0.25).all()
