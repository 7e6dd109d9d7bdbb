"""Segmentation data preprocessor of MaskAnyNet."""
from mmseg.models.data_preprocessor import SegDataPreProcessor

from mmmaskreuse.registry import MODELS
from .base import MaskReuseMixin


@MODELS.register_module()
class MaskReuseSegDataPreprocessor(MaskReuseMixin, SegDataPreProcessor):
    """mmseg's :class:`SegDataPreProcessor`, then MaskAnyNet masking.

    Training batches are normalised, padded to ``size`` and batch-augmented
    as mmseg does, then masked on their device: ``inputs`` becomes a
    :class:`~mmmaskreuse.masking.MaskedInputs` for a MaskAnyNet backbone.
    The cell grid is laid over each crop (its ``img_shape``), never over the
    padding; label maps are left as they are. Evaluation batches are
    untouched.

    Args:
        mask_generator (dict | BaseMaskGenerator): The masking strategy.
            Defaults to ``dict(type='CombinedMask', mask_ratio=0.25)``.
        prob (float): Probability that a training sample is masked.
            Defaults to 1.0.
        fill_value (float): Value of masked pixels. Defaults to 0.
        **kwargs: Arguments of :class:`SegDataPreProcessor` (``mean``,
            ``std``, ``bgr_to_rgb``, ``size``, ``pad_val``,
            ``seg_pad_val``...).
    """
    pad_value_name = 'pad_val'
