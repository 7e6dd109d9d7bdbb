"""Safe checkpoint loading on torch >= 2.6, local and remote.

mmengine 0.10.7 calls ``torch.load(filename, map_location=...)``. Since torch
2.6 that call defaults to ``weights_only=True``, which refuses the
``message_hub`` entry of every mmengine training checkpoint (a
``HistoryBuffer`` of numpy arrays), so ``--resume`` and ``load_from`` of a
full training checkpoint fail.

We re-register the loader for local paths (the ``''`` prefix of mmengine's
``CheckpointLoader``) with torch's safe loading and an allow-list of exactly
the types mmengine checkpoints hold: the history buffer, numpy arrays,
scalars and dtypes (numpy 2's dtype classes too), and ``getattr``
restricted to the history buffer's statistics methods (how it pickles
them). A file that needs anything else,
e.g. a pickle that would run a command, is refused with an error naming it.

Remote schemes need the same care: mmengine's ``http(s)://`` loader (and
``torchvision://``, ``open-mmlab://``, ``mmcls://``, which go through it)
calls ``torch.hub.load_state_dict_from_url``, which unpickles fully by
default. Those loaders are wrapped so that every ``torch.load`` inside them
is a safe one (torch's ``TORCH_FORCE_WEIGHTS_ONLY_LOAD``) with the same
allow-list; downloading and caching stay mmengine's.

A full unpickle runs only when asked for: ``MMMASKREUSE_TRUST_CHECKPOINTS=1``
(the tools' ``--trust-checkpoint`` sets it). Only do that for files you
trust: unpickling can run any code.

A checkpoint that loads is not yet one that fits: mmengine loads with
``strict=False``, so missing weights keep their initialisation, weights of
another shape are skipped with a warning and weights the model lacks are
ignored. :func:`weight_mismatch` is the one check of all three, which
``tools/test.py``, the analysis tools (:func:`load_checked`) and
:class:`~mmmaskreuse.engine.CheckPretrainedWeightsHook` share.
"""
import os
import os.path as osp
import pickle
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import List, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import (CheckpointLoader,
                                        _load_checkpoint_to_model)

TRUST_ENV = 'MMMASKREUSE_TRUST_CHECKPOINTS'


def _history_buffer_getattr(obj, name: str):
    """``getattr`` as a checkpoint may use it: only the statistics methods
    of mmengine's ``HistoryBuffer`` (its pickle refers to them so)."""
    statistics = ('min', 'max', 'mean', 'current',
                  *HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in statistics:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not one an mmengine checkpoint uses')


def _numpy_global(name: str):
    """A numpy global by its current module path (numpy 2 moved
    ``numpy.core`` to ``numpy._core``)."""
    module = getattr(np, '_core', None) or np.core
    return getattr(module.multiarray, name)


# (object, the name a pickle may use for it); numpy 1 and 2 names alike
SAFE_GLOBALS = [
    HistoryBuffer,
    np.ndarray,
    np.dtype,
    (_history_buffer_getattr, 'builtins.getattr'),
] + [
    type(np.dtype(name))  # numpy 2's dtype classes
    for name in ('bool', 'uint8', 'int8', 'int16', 'int32', 'int64',
                 'float16', 'float32', 'float64')
] + [(_numpy_global(name), f'numpy.{core}.multiarray.{name}')
     for name in ('_reconstruct', 'scalar') for core in ('core', '_core')]


def trusts_checkpoints() -> bool:
    """Whether the user asked for full unpickling (``TRUST_ENV=1``)."""
    return os.environ.get(TRUST_ENV) == '1'


@contextmanager
def _refusing_unsafe(filename: str, force: bool = False):
    """Safe ``torch.load`` calls inside, with :data:`SAFE_GLOBALS` allowed;
    a refused object becomes an error naming ``filename``. ``force``: also
    those that pass ``weights_only=False`` (third-party loaders)."""
    forced = os.environ.get('TORCH_FORCE_WEIGHTS_ONLY_LOAD')
    if force:
        os.environ['TORCH_FORCE_WEIGHTS_ONLY_LOAD'] = '1'
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            yield
    except pickle.UnpicklingError as error:
        # torch's message: a generic paragraph, the object it refused,
        # pointers to its docs and tracker
        lines = [line.strip() for line in str(error).splitlines()]
        reason = ' '.join(
            line for line in lines[1:] if line and not line.startswith(
                ('Check the documentation', 'Please file an issue')))
        raise RuntimeError(
            f'refusing to unpickle {filename}: it holds objects an mmengine '
            f'checkpoint does not ({reason}). Unpickling it could run '
            'code. If you trust the file, pass --trust-checkpoint to the '
            f'tools (or set {TRUST_ENV}=1).') from None
    finally:
        if force and forced is None:
            os.environ.pop('TORCH_FORCE_WEIGHTS_ONLY_LOAD')
        elif force:
            os.environ['TORCH_FORCE_WEIGHTS_ONLY_LOAD'] = forced


def load_from_local(filename: str, map_location=None) -> dict:
    """Load a checkpoint from a local path, safely unless trusted.

    Args:
        filename (str): Path of the checkpoint file; ``~`` is expanded.
        map_location (str | torch.device, optional): Same as
            :func:`torch.load`. Defaults to None.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: No such file.
        RuntimeError: The file holds objects outside the allow-list.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    if trusts_checkpoints():
        return torch.load(filename, map_location=map_location,
                          weights_only=False)
    with _refusing_unsafe(filename):
        return torch.load(filename, map_location=map_location,
                          weights_only=True)


CheckpointLoader.register_scheme(prefixes='', loader=load_from_local,
                                 force=True)


def _safe_remote(prefixes):
    """Re-register mmengine's loader of ``prefixes`` so that it loads
    safely unless trusted."""
    upstream = CheckpointLoader._schemes[prefixes[0]]

    def load_safely(filename, map_location=None):
        if trusts_checkpoints():
            return upstream(filename, map_location=map_location)
        with _refusing_unsafe(filename, force=True):
            return upstream(filename, map_location=map_location)

    load_safely.__doc__ = (f'mmengine\'s {upstream.__name__}, loading '
                           'safely unless trusted.')
    CheckpointLoader.register_scheme(prefixes=prefixes, loader=load_safely,
                                     force=True)


for _prefixes in (('http://', 'https://'), ('modelzoo://', 'torchvision://'),
                  ('open-mmlab://', 'openmmlab://'), ('mmcls://', )):
    _safe_remote(_prefixes)


@dataclass
class WeightMismatch:
    """How a checkpoint's weights differ from a model's, key by key.

    Attributes:
        missing (list[str]): Entries of the model's state dict that the
            checkpoint does not hold (they would keep their
            initialisation).
        unexpected (list[str]): Weights of the checkpoint that the model
            has no entry for (they would be ignored).
        mis_shaped (list[tuple[str, tuple, tuple]]): ``(key, shape in the
            checkpoint, shape in the model)`` of the entries both hold
            with different shapes (mmengine skips them with a warning:
            they keep their initialisation too).
    """
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mis_shaped: List[Tuple[str, tuple, tuple]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.mis_shaped)

    def describe(self, checkpoint: str, config: str) -> str:
        """One sentence naming both sides and each kind of difference."""

        def first(keys):
            return ', '.join(keys[:5]) + (' ...' if len(keys) > 5 else '')

        parts = []
        if self.missing:
            parts.append(f'holds no weights for {len(self.missing)} entries '
                         f'of the model ({first(self.missing)})')
        if self.unexpected:
            parts.append(f'holds {len(self.unexpected)} weights the model '
                         f'has no entry for ({first(self.unexpected)})')
        if self.mis_shaped:
            shapes = [f'{key}: {list(ours)} in the checkpoint, '
                      f'{list(model)} in the model'
                      for key, ours, model in self.mis_shaped]
            parts.append(f'holds {len(self.mis_shaped)} weights of another '
                         f'shape than the model\'s ({first(shapes)})')
        return (f'{checkpoint} does not fit the model of {config}: it '
                + '; it '.join(parts))


def _unwrapped(model):
    """The model mmengine's Runner loads a checkpoint into: model wrappers
    and test-time-augmentation wrappers unwrapped."""
    from mmengine.model import BaseTTAModel, is_model_wrapper
    if is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        return model.module
    return model


def _state_dict_of(checkpoint: Union[str, dict]) -> dict:
    if isinstance(checkpoint, str):
        checkpoint = CheckpointLoader.load_checkpoint(checkpoint,
                                                      map_location='cpu')
    return checkpoint.get('state_dict', checkpoint)


def weight_mismatch(model,
                    checkpoint: Union[str, dict],
                    prefix: str = '') -> WeightMismatch:
    """What the checkpoint lacks, holds in excess or holds in another shape
    for ``model``, as mmengine's Runner would load it (model wrappers and
    test-time-augmentation wrappers unwrapped, a ``module.`` prefix of the
    checkpoint's keys dropped). The one check of every tool that loads a
    trained checkpoint (``tools/test.py``, the analysis tools) and of
    :class:`~mmmaskreuse.engine.CheckPretrainedWeightsHook`.

    Args:
        model (nn.Module): The model the Runner built, or the sub-module an
            ``init_cfg`` loads.
        checkpoint (str | dict): Checkpoint path or URL (any scheme
            mmengine's ``CheckpointLoader`` reads), or a loaded checkpoint
            (``state_dict``, ``meta``) or bare state dict.
        prefix (str): Compare only the checkpoint's keys that start with it,
            with it removed (``'backbone.'``: the backbone of a whole
            model's checkpoint), as ``init_cfg=dict(type='Pretrained',
            prefix=...)`` loads them. Defaults to ''.

    Returns:
        WeightMismatch: Missing keys in the model's order, unexpected and
        mis-shaped ones in the checkpoint's; false when the checkpoint
        fills every weight and buffer of the model, in its shape, and
        nothing else.
    """
    state = {}
    for key, value in _state_dict_of(checkpoint).items():
        if key.startswith('module.'):
            key = key[len('module.'):]
        if key.startswith(prefix):
            state[key[len(prefix):]] = value
    own = _unwrapped(model).state_dict()
    return WeightMismatch(
        missing=[key for key in own if key not in state],
        unexpected=[key for key in state if key not in own],
        mis_shaped=[(key, tuple(value.shape), tuple(own[key].shape))
                    for key, value in state.items()
                    if key in own and torch.is_tensor(value)
                    and value.shape != own[key].shape])


def load_checked(model, checkpoint: str, config: str) -> dict:
    """Load ``checkpoint`` into ``model`` (mmengine's loading, safe as
    everywhere in this package) if it fits: a ValueError naming both sides
    (:meth:`WeightMismatch.describe`) if it lacks, adds or reshapes any
    weight, which mmengine's ``strict=False`` loading would pass over.

    Args:
        model (nn.Module): The model built from ``config``.
        checkpoint (str): Checkpoint path or URL.
        config (str): The config's path (or name), for the message.

    Returns:
        dict: The loaded checkpoint (``meta``...).
    """
    loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    mismatch = weight_mismatch(model, loaded)
    if mismatch:
        raise ValueError(mismatch.describe(checkpoint, config) +
                         ': its results would not be the trained model\'s')
    _load_checkpoint_to_model(_unwrapped(model), loaded, logger='silent')
    return loaded
