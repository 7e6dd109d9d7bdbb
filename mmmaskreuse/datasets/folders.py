"""Write a prepared dataset folder all at once (the ``prepare_*`` tools)."""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Iterable, Tuple


def write_layout(out: str, files: Iterable[Tuple[str, str]],
                 manifest_name: str, manifest: dict) -> None:
    """Place ``files`` under ``out`` with a JSON manifest, or nothing.

    The layout is built in a temporary folder beside ``out`` and renamed
    into place once complete: a failed or killed run leaves no half-written
    ``out`` for a training run to read. Files are hard links where source
    and ``out`` share a file system (a dataset's worth of images costs no
    space), else copies.

    Args:
        out (str): The folder to create; must not exist.
        files (Iterable[tuple[str, str]]): ``(source path, path relative
            to out)`` pairs.
        manifest_name (str): File name of the manifest inside ``out``.
        manifest (dict): What the manifest holds (JSON-serialisable).

    Raises:
        FileExistsError: ``out`` exists.
    """
    if osp.lexists(out):
        raise FileExistsError(f'{out} exists: remove it or choose another '
                              'output folder')
    parent = osp.dirname(osp.abspath(out))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f'.{osp.basename(out)}-', dir=parent)
    try:
        for source, relative in files:
            target = osp.join(staging, relative)
            os.makedirs(osp.dirname(target), exist_ok=True)
            try:
                os.link(source, target)
            except OSError:  # another file system, or no hard links there
                shutil.copyfile(source, target)
        with open(osp.join(staging, manifest_name), 'w') as f:
            json.dump(manifest, f, indent=2)
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it 0700
        os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
