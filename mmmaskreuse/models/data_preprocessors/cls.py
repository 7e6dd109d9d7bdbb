"""Classification data preprocessor of MaskAnyNet."""
from contextlib import contextmanager
from typing import Optional, Sequence

import torch
from mmpretrain.models.utils import ClsDataPreprocessor

from mmmaskreuse.masking import MaskedInputs
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


def other_label_partners(
        labels: torch.Tensor,
        generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """For each sample of a batch, another sample of another label, drawn
    uniformly among those of the batch.

    Args:
        labels (Tensor): [B] int, one label a sample.
        generator (torch.Generator, optional): A CPU generator to draw
            from. Defaults to None (torch's global one).

    Returns:
        Tensor: [B] int64 on the CPU, indices into the batch;
        ``labels[partners] != labels`` everywhere.

    Raises:
        ValueError: If the batch has a single label: no sample has a
            partner of another label.
    """
    labels = labels.cpu()
    other = labels[:, None] != labels[None, :]  # [B, B]
    if len(labels) and not other.any():
        raise ValueError(
            'other_image_at_test pairs each image with one of another label '
            f'in its batch, but this batch of {len(labels)} images has the '
            f'single label {int(labels[0])}: shuffle the test set so that '
            'batches mix labels (--cfg-options '
            'test_dataloader.sampler.shuffle=True '
            'test_dataloader.sampler.seed=0, as '
            'tools/analysis_tools/reuse_ablation.py does)')
    # with two labels or more every sample has a partner; the largest of
    # uniform draws over its partners is a uniform choice among them
    scores = torch.rand(other.shape, generator=generator)
    return scores.masked_fill(~other, -1.).argmax(1)


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

    ``other_image_at_test=True`` is an ablation (does the model use its
    reuse branch?): each evaluation batch becomes an unmasked
    :class:`~mmmaskreuse.masking.MaskedInputs` whose reuse images are the
    downsampled images of other samples of the batch, each of another
    label than its own (:func:`other_label_partners`), so the branch sees
    a wrong class, not a near copy of the image. The partners are drawn
    from a generator seeded with the batch's first ``sample_idx``: a batch
    is paired alike in every run. A batch with a single label raises
    rather than pairing images of the same label: shuffle the test set,
    as ``tools/analysis_tools/reuse_ablation.py`` does (class-sorted test
    sets otherwise give batches of one class).

    Args:
        mask_generator (dict | BaseMaskGenerator): The masking strategy,
            e.g. ``dict(type='CombinedMask', mask_ratio=0.25,
            grid_size=(8, 8))`` (the paper's best).
        prob (float): Probability that a training sample is masked.
            Defaults to 1.0.
        fill_value (float): Value of masked pixels. Defaults to 0.
        reuse_view (str): 'downsample' or 'augmented', see above. Defaults
            to 'downsample'.
        other_image_at_test (bool): Feed the reuse branch images of
            other labels in evaluation, see above. Defaults to False.
        test_corruption (dict, optional): A test-time corruption, see
            :class:`~mmmaskreuse.models.TestCorruptionMixin`. Defaults to
            None.
        **kwargs: Arguments of :class:`ClsDataPreprocessor` (``mean``,
            ``std``, ``to_rgb``, ``batch_augments``...).
    """

    def __init__(self,
                 *args,
                 reuse_view: str = 'downsample',
                 other_image_at_test: bool = False,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if reuse_view not in REUSE_VIEWS:
            raise ValueError(f'reuse_view must be one of {REUSE_VIEWS}, '
                             f'got {reuse_view!r}')
        if not isinstance(other_image_at_test, bool):
            raise ValueError('other_image_at_test must be True or False, '
                             f'got {other_image_at_test!r}')
        self.reuse_view = reuse_view
        self.other_image_at_test = other_image_at_test

    def forward(self, data: dict, training: bool = False) -> dict:
        if not training:
            data = super().forward(data, training)
            if self.other_image_at_test:
                data['inputs'] = self._with_other_images(
                    data['inputs'], data.get('data_samples'))
            return data
        if self.reuse_view == 'downsample':
            return super().forward(data, training)
        views = self._views(data.get('data_samples'))
        with self._batch_augments_carrying(views) as carried:
            data = ClsDataPreprocessor.forward(self, data, training)
        views = carried.views if carried is not None else views
        data['inputs'] = self.mask_batch(data['inputs'],
                                         data.get('data_samples'), views)
        return data

    def _with_other_images(self, inputs: torch.Tensor,
                           data_samples: Optional[Sequence]) -> MaskedInputs:
        """``inputs`` [B, C, H, W] unmasked, each with the downsampled image
        of a sample of another label as its reuse image."""
        samples = data_samples or []
        labels = [getattr(sample, 'gt_label', None) for sample in samples]
        if len(labels) != len(inputs) or any(
                label is None or label.numel() != 1 for label in labels):
            raise KeyError(
                'other_image_at_test pairs images of different labels: '
                'every evaluation sample needs one gt_label')
        seed = int(samples[0].metainfo.get('sample_idx', 0))
        partners = other_label_partners(
            torch.cat([label.view(1) for label in labels]),
            torch.Generator().manual_seed(seed))
        return self.mask_reuse.unmasked(inputs,
                                        inputs[partners.to(inputs.device)])

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
