"""Detection data preprocessor of MaskAnyNet."""
from mmdet.models.data_preprocessors import DetDataPreprocessor

from mmmaskreuse.registry import MODELS
from .base import MaskReuseMixin


@MODELS.register_module()
class MaskReuseDetDataPreprocessor(MaskReuseMixin, DetDataPreprocessor):
    """mmdet's :class:`DetDataPreprocessor`, then MaskAnyNet masking.

    Training batches are normalised, padded and batch-augmented as mmdet
    does, then masked on their device: ``inputs`` becomes a
    :class:`~mmmaskreuse.masking.MaskedInputs` for a MaskAnyNet backbone.
    The cell grid is laid over each image (its ``img_shape``), never over
    the padding; ground-truth boxes and masks are left as they are.
    Evaluation batches are untouched.

    Args:
        mask_generator (dict | BaseMaskGenerator): The masking strategy.
            Defaults to ``dict(type='CombinedMask', mask_ratio=0.25)``.
        prob (float): Probability that a training sample is masked.
            Defaults to 1.0.
        fill_value (float): Value of masked pixels. Defaults to 0.
        **kwargs: Arguments of :class:`DetDataPreprocessor` (``mean``,
            ``std``, ``bgr_to_rgb``, ``pad_size_divisor``, ``pad_mask``,
            ``batch_augments``...).
    """
    pad_value_name = 'pad_value'
