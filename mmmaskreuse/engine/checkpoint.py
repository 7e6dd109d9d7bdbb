"""Local checkpoint loading that works on torch >= 2.6.

mmengine 0.10.7 calls ``torch.load(filename, map_location=...)``. Since torch
2.6 that call defaults to ``weights_only=True``, which refuses the
``message_hub`` and ``meta`` entries every mmengine checkpoint carries, so
``--resume`` and ``load_from`` of a full training checkpoint fail.

We re-register the loader for local paths (the ``''`` prefix of mmengine's
``CheckpointLoader``) with the behaviour mmengine was written for:
a full unpickle. Only load checkpoints you trust, exactly as with mmengine on
torch < 2.6. Remote schemes (``http://``, ``s3://`` ...) are left as they are.
"""
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader


def load_from_local(filename: str, map_location=None) -> dict:
    """Load a checkpoint from a local path.

    Args:
        filename (str): Path of the checkpoint file; ``~`` is expanded.
        map_location (str | torch.device, optional): Same as
            :func:`torch.load`. Defaults to None.

    Returns:
        dict: The loaded checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    return torch.load(filename, map_location=map_location, weights_only=False)


CheckpointLoader.register_scheme(prefixes='', loader=load_from_local,
                                 force=True)
