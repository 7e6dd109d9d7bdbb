"""Classification data preprocessor of MaskAnyNet."""
from contextlib import contextmanager
from typing import Optional, Sequence

import torch
from mmpretrain.models.utils import ClsDataPreprocessor

from mmmaskreuse.registry import MODELS
from .base import MaskReuseMixin
from .corrupted import TestCorruptionMixin

REUSE_VIEWS = ('downsample', 'augmented')


class _CarriedAlong:
    """Batch augments (Mixup, CutMix, ResizeMix) applied to the images and,
    with the same draws, to ``views``: both go through as one tensor,
    concatenated along the channels, which these augments mix alike."""

    def __init__(self, augments, views: torch.Tensor) -> None:
        self.augments = augments
        self.views = views

    def __call__(self, inputs: torch.Tensor, scores: torch.Tensor):
        channels = inputs.shape[1]
        both, scores = self.augments(torch.cat([inputs, self.views], 1),
                                     scores)
        self.views = both[:, channels:]
        return both[:, :channels], scores


@MODELS.register_module()
class MaskReuseClsDataPreprocessor(TestCorruptionMixin, MaskReuseMixin,
                                   ClsDataPreprocessor):
    """mmpretrain's :class:`ClsDataPreprocessor`, then MaskAnyNet masking.

    Training batches are normalised, batch-augmented (Mixup, CutMix... as
    configured), then masked on their device: ``inputs`` becomes a
    :class:`~mmmaskreuse.masking.MaskedInputs` (masked image, reuse image,
    cell mask) for a MaskAnyNet backbone. Evaluation batches are untouched.
    The fill value applies after normalisation (0 = the mean colour).

    What the reuse branch of a sample left unmasked (``prob < 1``) sees is
    ``reuse_view``: ``'downsample'``, the image resized to the reuse size
    (what it sees at test time), or ``'augmented'``, the authors' protocol:
    the AutoAugment copy that
    :class:`~mmmaskreuse.datasets.AutoAugmentReuseView` put in each data
    sample as ``reuse_img`` (it must follow ``PackInputs`` in the train
    pipeline), normalised like the image, mixed by the batch augments with
    the same draws as the image, then resized the same way. The recipes use
    ``'augmented'``; the default is ``'downsample'``, which needs nothing
    in the pipeline.

    Args:
        mask_generator (dict | BaseMaskGenerator): The masking strategy,
            e.g. ``dict(type='CombinedMask', mask_ratio=0.25,
            grid_size=(8, 8))`` (the paper's best).
        prob (float): Probability that a training sample is masked.
            Defaults to 1.0.
        fill_value (float): Value of masked pixels. Defaults to 0.
        reuse_view (str): 'downsample' or 'augmented', see above. Defaults
            to 'downsample'.
        test_corruption (dict, optional): A test-time corruption, see
            :class:`~mmmaskreuse.models.TestCorruptionMixin`. Defaults to
            None.
        **kwargs: Arguments of :class:`ClsDataPreprocessor` (``mean``,
            ``std``, ``to_rgb``, ``batch_augments``...).
    """

    def __init__(self, *args, reuse_view: str = 'downsample',
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if reuse_view not in REUSE_VIEWS:
            raise ValueError(f'reuse_view must be one of {REUSE_VIEWS}, '
                             f'got {reuse_view!r}')
        self.reuse_view = reuse_view

    def forward(self, data: dict, training: bool = False) -> dict:
        if not training or self.reuse_view == 'downsample':
            return super().forward(data, training)
        views = self._views(data.get('data_samples'))
        with self._batch_augments_carrying(views) as carried:
            data = ClsDataPreprocessor.forward(self, data, training)
        views = carried.views if carried is not None else views
        data['inputs'] = self.mask_batch(data['inputs'],
                                         data.get('data_samples'), views)
        return data

    def _views(self, data_samples: Optional[Sequence]) -> torch.Tensor:
        """The samples' ``reuse_img``, normalised like the images."""
        if not data_samples or 'reuse_img' not in data_samples[0]:
            raise KeyError(
                "reuse_view='augmented' needs each training sample's "
                "'reuse_img': put dict(type='mmmaskreuse."
                "AutoAugmentReuseView') after PackInputs in the train "
                "pipeline, or set reuse_view='downsample'")
        views = torch.stack([sample.reuse_img for sample in data_samples])
        return ClsDataPreprocessor.forward(self, dict(inputs=views))['inputs']

    @contextmanager
    def _batch_augments_carrying(self, views: torch.Tensor):
        augments = self.batch_augments
        if augments is None:
            yield None
            return
        self.batch_augments = _CarriedAlong(augments, views)
        try:
            yield self.batch_augments
        finally:
            self.batch_augments = augments
