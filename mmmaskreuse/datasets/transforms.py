"""Data pipeline transforms of MaskAnyNet."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from torchvision.transforms import AutoAugment, AutoAugmentPolicy

from mmmaskreuse.registry import TRANSFORMS

POLICIES = {policy.value: policy for policy in AutoAugmentPolicy}


def build_auto_augment(policy: str, fill: int) -> AutoAugment:
    """torchvision's ``AutoAugment``, its policy named as a string."""
    if policy not in POLICIES:
        raise ValueError(f'policy must be one of {sorted(POLICIES)}, '
                         f'got {policy!r}')
    return AutoAugment(POLICIES[policy], fill=fill)


@TRANSFORMS.register_module()
class AutoAugmentReuseView(BaseTransform):
    """The reuse-branch view of a training sample left unmasked, as the
    authors make it: an AutoAugment copy of the image.

    In the authors' training set (``my_dataset.py``), a sample that is not
    masked gives the primary branch its image and the auxiliary branch a
    copy of it under torchvision's ``AutoAugment`` with the CIFAR-10 policy
    (on every dataset), later resized to the reuse size. This transform
    makes that copy in the loader workers, so it costs no training-step
    time: put it after ``PackInputs`` in the train pipeline. It augments
    the packed image (uint8 [C, H, W], BGR as loaded: it is flipped to RGB
    for the colour operations and back) and stores the copy in the data
    sample as ``reuse_img``, for a
    :class:`~mmmaskreuse.models.MaskReuseClsDataPreprocessor` with
    ``reuse_view='augmented'`` (which normalises it like the image and
    resizes it to the reuse size). Every sample gets a copy, since whether
    a sample is masked is drawn later, on the training device. The copy is
    made after the pipeline's crop and flip, so it shows what the primary
    branch sees; the authors augment the raw image, then crop.

    Random draws come from torch's generator, which
    :class:`~mmmaskreuse.engine.ResumableEpochBasedTrainLoop` seeds for
    each batch from the run's seed, the rank, the epoch and the batch.

    Args:
        policy (str): torchvision's ``AutoAugmentPolicy``: 'cifar10'
            (the authors'), 'imagenet' or 'svhn'. Defaults to 'cifar10'.
        fill (int): Value of the pixels that geometric operations uncover.
            Defaults to 0 (torchvision's default, as the authors).
        to_rgb (bool): Whether the packed image is BGR (mmcv's loading) and
            must be augmented as RGB. Defaults to True.
    """

    def __init__(self,
                 policy: str = 'cifar10',
                 fill: int = 0,
                 to_rgb: bool = True) -> None:
        self.augment = build_auto_augment(policy, fill)
        self.policy = policy
        self.to_rgb = to_rgb

    def transform(self, results: dict) -> dict:
        if 'inputs' not in results or 'data_samples' not in results:
            raise KeyError('AutoAugmentReuseView goes after PackInputs in '
                           f'the pipeline; got the keys {sorted(results)}')
        image = results['inputs']
        if (not isinstance(image, torch.Tensor) or image.dtype != torch.uint8
                or image.dim() != 3 or image.shape[0] != 3):
            raise ValueError('AutoAugmentReuseView needs a packed uint8 '
                             'image [3, H, W], got '
                             f'{getattr(image, "dtype", type(image))} '
                             f'{tuple(getattr(image, "shape", ()))}')
        if self.to_rgb:
            copy = self.augment(image.flip(0)).flip(0)
        else:
            copy = self.augment(image)
        results['data_samples'].set_field(copy.contiguous(), 'reuse_img')
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(policy={self.policy!r}, '
                f'fill={self.augment.fill}, to_rgb={self.to_rgb})')


@TRANSFORMS.register_module()
class AutoAugmentImage(BaseTransform):
    """torchvision's ``AutoAugment`` on the loaded image itself.

    The same augmentation :class:`AutoAugmentReuseView` gives the authors'
    reuse branch, applied to what the primary branch sees. Wrapped in
    mmcv's ``RandomApply`` with ``prob=0.8`` it is the control arm that
    separates "more augmentation" from "the reuse branch": the authors'
    protocol at ``prob=0.2`` shows an AutoAugment copy for 80 % of the
    samples, to the reuse branch only.

    Args:
        policy (str): torchvision's ``AutoAugmentPolicy``: 'cifar10',
            'imagenet' or 'svhn'. Defaults to 'cifar10'.
        fill (int): Value of the pixels that geometric operations uncover.
            Defaults to 0.
        to_rgb (bool): Whether ``results['img']`` is BGR (mmcv's loading)
            and must be augmented as RGB. Defaults to True.
    """

    def __init__(self,
                 policy: str = 'cifar10',
                 fill: int = 0,
                 to_rgb: bool = True) -> None:
        self.augment = build_auto_augment(policy, fill)
        self.policy = policy
        self.to_rgb = to_rgb

    def transform(self, results: dict) -> dict:
        image = results['img']
        if (not isinstance(image, np.ndarray) or image.dtype != np.uint8
                or image.ndim != 3 or image.shape[2] != 3):
            raise ValueError('AutoAugmentImage needs a loaded uint8 image '
                             '[H, W, 3], got '
                             f'{getattr(image, "dtype", type(image))} '
                             f'{tuple(getattr(image, "shape", ()))}')
        channels = [2, 1, 0] if self.to_rgb else [0, 1, 2]
        tensor = torch.from_numpy(image[..., channels].transpose(2, 0, 1))
        augmented = self.augment(tensor.contiguous()).numpy()
        results['img'] = np.ascontiguousarray(
            augmented.transpose(1, 2, 0)[..., channels])
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(policy={self.policy!r}, '
                f'fill={self.augment.fill}, to_rgb={self.to_rgb})')
