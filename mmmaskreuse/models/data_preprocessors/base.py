"""What the MaskAnyNet data preprocessors of every task share."""
import logging
from typing import Optional, Sequence, Union

import torch
from mmengine.dist import get_rank
from mmengine.logging import print_log

from mmmaskreuse.masking import BaseMaskGenerator, MaskedInputs, MaskReuse


class MaskReuseMixin:
    """Adds MaskAnyNet masking to a task's data preprocessor.

    Training batches go through the task's preprocessing (normalisation,
    padding, batch augmentations), then are masked on their device:
    ``inputs`` becomes a :class:`~mmmaskreuse.masking.MaskedInputs` for a
    MaskAnyNet backbone. Evaluation batches are untouched.
    ``makes_masked_inputs`` marks the preprocessor for
    :func:`mmmaskreuse.models.check_masked_pairing`; ``pad_value_name``
    names the task preprocessor's padding value (None: batches are not
    padded).

    Every process draws its own masks and ``prob`` coin flips, from a
    ``torch.Generator`` of its own on the batch's device, seeded at the
    first training batch with the process's seed (``torch.initial_seed()``,
    which mmengine's Runner sets from ``randomness.seed``) plus its rank.
    With mmengine's default ``randomness`` every rank starts from the same
    seed, so masks drawn from torch's global generator would be the same on
    every GPU. A fixed seed reproduces a run's masks. We do not set
    ``randomness=dict(diff_rank_seed=True)`` in the MaskAnyNet configs
    instead: it would change every other random draw of the MaskAnyNet runs
    (proposal sampling, Mixup ...) but not of their vanilla twins, and any
    config of a user that uses this preprocessor would need it too. With
    ``diff_rank_seed`` set anyway, ranks are offset twice and stay apart.
    Nothing else (e.g. ``batch_augments``) draws from this generator.
    Checkpoints hold its state (:class:`~mmmaskreuse.engine.RandomStatesHook`
    through :meth:`get_mask_rng_state`), so a resumed run draws the masks
    the interrupted one would have.

    Args:
        mask_generator (dict | BaseMaskGenerator): The masking strategy,
            e.g. ``dict(type='CombinedMask', mask_ratio=0.25,
            grid_size=(8, 8))`` (the paper's best).
        prob (float): Probability that a training sample is masked; the
            others keep their image and get the downsampled image as reuse
            image. Defaults to 1.0.
        fill_value (float): Value of masked pixels, after normalisation
            (0 = the mean colour). Defaults to 0.
        **kwargs: Arguments of the task's data preprocessor.
    """
    makes_masked_inputs = True
    pad_value_name: Optional[str] = None

    def __init__(self,
                 mask_generator: Union[dict, BaseMaskGenerator] = dict(
                     type='CombinedMask', mask_ratio=0.25),
                 prob: float = 1.0,
                 fill_value: float = 0.,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.mask_reuse = MaskReuse(mask_generator, prob, fill_value)
        self._mask_rng: Optional[torch.Generator] = None
        self._resumed_mask_rng: Optional[dict] = None

    def mask_rng(self, device: torch.device) -> torch.Generator:
        """This process's source of masks: made on ``device`` at the first
        call, seeded with ``torch.initial_seed() + rank`` (or in the state
        :meth:`set_mask_rng_state` gave), then kept (a batch on another
        device draws on it and moves the draws)."""
        if self._mask_rng is None:
            self._mask_rng = torch.Generator(device=device)
            resumed, self._resumed_mask_rng = self._resumed_mask_rng, None
            if resumed is not None and resumed['device'] == device.type:
                self._mask_rng.set_state(resumed['state'])
            else:
                if resumed is not None:
                    print_log(
                        f'the saved mask generator state is of a '
                        f'{resumed["device"]} generator; masks are drawn '
                        f'on {device.type} here: seeding it anew',
                        logger='current', level=logging.WARNING)
                seed = (torch.initial_seed() + get_rank()) % 2**64
                self._mask_rng.manual_seed(seed)
        return self._mask_rng

    def get_mask_rng_state(self) -> Optional[dict]:
        """The mask generator's state and device type (None before the
        first training batch), for a checkpoint."""
        if self._mask_rng is None:
            return self._resumed_mask_rng
        return dict(device=self._mask_rng.device.type,
                    state=self._mask_rng.get_state())

    def set_mask_rng_state(self, state: dict) -> None:
        """Continue drawing masks from ``state``
        (:meth:`get_mask_rng_state`); before the first training batch the
        generator takes it when it is made on the batch's device."""
        if self._mask_rng is None or (state['device'] !=
                                      self._mask_rng.device.type):
            self._mask_rng = None
            self._resumed_mask_rng = state
        else:
            self._mask_rng.set_state(state['state'])

    @property
    def mask_ratio(self) -> float:
        return self.mask_reuse.mask_generator.mask_ratio

    def forward(self, data: dict, training: bool = False) -> dict:
        data = super().forward(data, training)
        if training:
            data['inputs'] = self.mask_batch(data['inputs'],
                                             data.get('data_samples'))
        return data

    def mask_batch(self,
                   inputs: torch.Tensor,
                   data_samples: Optional[Sequence],
                   unmasked_view: Optional[torch.Tensor] = None
                   ) -> MaskedInputs:
        """Mask a training batch [B, C, H, W]; ``unmasked_view`` (same
        shape, optional) is what the reuse branch of unmasked samples sees,
        resized (default: the image).

        Padded batches (``pad_value_name`` set) get the grid laid over each
        image: the top-left ``img_shape`` of its sample (the whole ``H x W``
        when a sample has no ``img_shape``); see
        :mod:`mmmaskreuse.masking.reuse`. Other batches get it over the
        whole image.
        """
        rng = self.mask_rng(inputs.device)
        if self.pad_value_name is None:
            return self.mask_reuse(inputs, rng, unmasked_view=unmasked_view)
        full = tuple(inputs.shape[-2:])
        samples = data_samples or [None] * inputs.shape[0]
        sizes = [
            tuple(getattr(s, 'img_shape', None) or full)[:2] for s in samples
        ]
        return self.mask_reuse(inputs,
                               rng,
                               image_sizes=torch.tensor(sizes),
                               pad_value=getattr(self, self.pad_value_name),
                               unmasked_view=unmasked_view)
