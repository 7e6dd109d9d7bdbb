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
"""
import os
import os.path as osp
import pickle
from contextlib import contextmanager

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

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


def missing_weights(model, filename: str, prefix: str = '') -> list:
    """The entries of ``model``'s state dict that the checkpoint at
    ``filename`` does not hold, as mmengine's Runner would load it (model
    wrappers and test-time-augmentation wrappers unwrapped, a ``module.``
    prefix of the checkpoint's keys dropped).

    Args:
        model (nn.Module): The model the Runner built, or the sub-module an
            ``init_cfg`` loads.
        filename (str): Checkpoint path or URL (any scheme mmengine's
            ``CheckpointLoader`` reads).
        prefix (str): Compare only the checkpoint's keys that start with it,
            with it removed (``'backbone.'``: the backbone of a whole
            model's checkpoint), as ``init_cfg=dict(type='Pretrained',
            prefix=...)`` loads them. Defaults to ''.

    Returns:
        list[str]: Missing keys, in the model's order; empty when the
        checkpoint fills every weight and buffer.
    """
    from mmengine.model import BaseTTAModel, is_model_wrapper
    if is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint)
    keys = {key[len('module.'):] if key.startswith('module.') else key
            for key in state}
    keys = {key[len(prefix):] for key in keys if key.startswith(prefix)}
    return [key for key in model.state_dict() if key not in keys]
