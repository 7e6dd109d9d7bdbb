"""Classification data preprocessor of MaskAnyNet."""
from mmpretrain.models.utils import ClsDataPreprocessor

from mmmaskreuse.registry import MODELS
from .base import MaskReuseMixin


@MODELS.register_module()
class MaskReuseClsDataPreprocessor(MaskReuseMixin, ClsDataPreprocessor):
    """mmpretrain's :class:`ClsDataPreprocessor`, then MaskAnyNet masking.

    Training batches are normalised, batch-augmented (Mixup, CutMix... as
    configured), then masked on their device: ``inputs`` becomes a
    :class:`~mmmaskreuse.masking.MaskedInputs` (masked image, reuse image,
    cell mask) for a MaskAnyNet backbone. Evaluation batches are untouched.
    The fill value applies after normalisation (0 = the mean colour).

    Args:
        mask_generator (dict | BaseMaskGenerator): The masking strategy,
            e.g. ``dict(type='CombinedMask', mask_ratio=0.25,
            grid_size=(8, 8))`` (the paper's best).
        prob (float): Probability that a training sample is masked; the
            others keep their image and get the downsampled image as reuse
            image. Defaults to 1.0.
        fill_value (float): Value of masked pixels. Defaults to 0.
        **kwargs: Arguments of :class:`ClsDataPreprocessor` (``mean``,
            ``std``, ``to_rgb``, ``batch_augments``...).
    """
