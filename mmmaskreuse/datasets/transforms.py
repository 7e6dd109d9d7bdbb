"""Data pipeline transforms of MaskAnyNet."""
import torch
from mmcv.transforms import BaseTransform
from torchvision.transforms import AutoAugment, AutoAugmentPolicy

from mmmaskreuse.registry import TRANSFORMS

POLICIES = {policy.value: policy for policy in AutoAugmentPolicy}


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
        if policy not in POLICIES:
            raise ValueError(f'policy must be one of {sorted(POLICIES)}, '
                             f'got {policy!r}')
        self.policy = policy
        self.to_rgb = to_rgb
        self.augment = AutoAugment(POLICIES[policy], fill=fill)

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
