"""Classification data preprocessor of MaskAnyNet."""
from typing import Union

from mmpretrain.models.utils import ClsDataPreprocessor

from mmmaskreuse.masking import BaseMaskGenerator, MaskReuse
from mmmaskreuse.registry import MODELS


@MODELS.register_module()
class MaskReuseClsDataPreprocessor(ClsDataPreprocessor):
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
    makes_masked_inputs = True

    def __init__(self,
                 mask_generator: Union[dict, BaseMaskGenerator] = dict(
                     type='CombinedMask', mask_ratio=0.25),
                 prob: float = 1.0,
                 fill_value: float = 0.,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.mask_reuse = MaskReuse(mask_generator, prob, fill_value)

    @property
    def mask_ratio(self) -> float:
        return self.mask_reuse.mask_generator.mask_ratio

    def forward(self, data: dict, training: bool = False) -> dict:
        data = super().forward(data, training)
        if training:
            data['inputs'] = self.mask_reuse(data['inputs'])
        return data
