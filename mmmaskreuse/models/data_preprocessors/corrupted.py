"""Test-time corruption of classification batches (robustness analysis)."""
from typing import Optional

from mmpretrain.models.utils import ClsDataPreprocessor

from mmmaskreuse.masking import PatchCorruption
from mmmaskreuse.registry import MODELS


class TestCorruptionMixin:
    """Corrupts evaluation batches after normalisation (and after any
    other preprocessing), for the robustness table of Conditional MAE
    (Tab. 9): ``test_corruption=dict(type='occlude')`` sets half of the
    16-pixel patches of each image to 0 (the mean colour),
    ``dict(type='shuffle')`` shuffles them; see
    :class:`~mmmaskreuse.masking.PatchCorruption` for the other keys.
    Training batches are untouched. Each sample is corrupted from its own
    seed (its ``sample_idx``, which mmpretrain's ``PackInputs`` packs), so
    a corrupted test set is the same in every run.

    A MaskAnyNet backbone then makes its reuse image from the corrupted
    image, as from any test image.

    Args:
        test_corruption (dict, optional): Arguments of
            :class:`~mmmaskreuse.masking.PatchCorruption`. Defaults to None
            (no corruption).
    """

    def __init__(self,
                 *args,
                 test_corruption: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.test_corruption = (None if test_corruption is None else
                                PatchCorruption(**test_corruption))

    def forward(self, data: dict, training: bool = False) -> dict:
        data = super().forward(data, training)
        if training or self.test_corruption is None:
            return data
        samples = data.get('data_samples') or []
        ids = [sample.metainfo.get('sample_idx') for sample in samples]
        if len(ids) != len(data['inputs']) or None in ids:
            raise KeyError(
                'test_corruption needs the sample_idx of every test sample: '
                "keep 'sample_idx' in PackInputs' meta_keys")
        data['inputs'] = self.test_corruption(data['inputs'], ids)
        return data


@MODELS.register_module()
class CorruptedClsDataPreprocessor(TestCorruptionMixin, ClsDataPreprocessor):
    """mmpretrain's :class:`ClsDataPreprocessor` with
    :class:`TestCorruptionMixin`'s ``test_corruption``: on a plain
    classification config, ``--cfg-options
    model.data_preprocessor.type=mmmaskreuse.CorruptedClsDataPreprocessor
    model.data_preprocessor.test_corruption.type=occlude``. (MaskAnyNet's
    :class:`MaskReuseClsDataPreprocessor` takes ``test_corruption`` as
    well.)"""
