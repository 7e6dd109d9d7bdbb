"""The authors' reuse view of unmasked samples, made in the pipeline."""
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from torchvision.transforms import AutoAugment, AutoAugmentPolicy

import mmmaskreuse  # noqa: F401
from mmmaskreuse.datasets import AutoAugmentReuseView


def packed(seed=0, size=32):
    image = np.random.default_rng(seed).integers(0, 256, (size, size, 3),
                                                 dtype=np.uint8)
    pipeline = Compose([
        dict(type='mmpretrain.PackInputs'),
        dict(type='mmmaskreuse.AutoAugmentReuseView')
    ])
    return image, pipeline


@pytest.mark.parametrize('seed', range(4))
def test_the_copy_is_torchvisions_cifar10_autoaugment_of_the_rgb_image(seed):
    image, pipeline = packed(seed)
    torch.manual_seed(seed)
    results = pipeline(dict(img=image, gt_label=1))
    torch.manual_seed(seed)
    rgb = torch.from_numpy(image[..., ::-1].copy()).permute(2, 0, 1)
    expected = AutoAugment(AutoAugmentPolicy.CIFAR10)(rgb).flip(0)
    copy = results['data_samples'].reuse_img
    assert copy.dtype == torch.uint8 and copy.shape == (3, 32, 32)
    assert torch.equal(copy, expected)
    # the image itself is what PackInputs made
    assert torch.equal(results['inputs'],
                       torch.from_numpy(image).permute(2, 0, 1))


def test_copies_differ_from_the_image_and_between_draws():
    image, pipeline = packed()
    torch.manual_seed(0)
    copies = [
        pipeline(dict(img=image.copy(), gt_label=0))['data_samples'].reuse_img
        for _ in range(16)
    ]
    original = torch.from_numpy(image).permute(2, 0, 1)
    # some CIFAR-10 sub-policies often leave an image as it is
    assert sum(not torch.equal(c, original) for c in copies) >= 8
    assert len({c.numpy().tobytes() for c in copies}) >= 8


def test_bad_uses_name_the_problem():
    with pytest.raises(ValueError, match="policy must be one of.*'tiny'"):
        AutoAugmentReuseView(policy='tiny')
    with pytest.raises(KeyError, match='after PackInputs'):
        AutoAugmentReuseView()(dict(img=np.zeros((8, 8, 3), np.uint8)))
    with pytest.raises(ValueError, match='uint8 image'):
        AutoAugmentReuseView()(dict(inputs=torch.zeros(3, 8, 8),
                                    data_samples=None))
