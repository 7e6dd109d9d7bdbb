"""Check CIFAR-10 as JPEG class folders and lay it out for our configs.

The source is the layout of the public ``CIFAR-10-images`` repository:
``SRC/train/<class>/*.jpg`` (5,000 a class) and ``SRC/test/<class>/*.jpg``
(1,000 a class), 32 x 32 RGB, the ten CIFAR-10 classes. The output is the
class-folder layout mmpretrain's ``CustomDataset`` reads
(``configs/_base_/datasets/cifar10_folders.py``)::

    OUT/train/<class>/<file>.jpg
    OUT/test/<class>/<file>.jpg
    OUT/prepare_cifar10.json   # what was taken: counts, subset sizes

Every count, class name and image size is checked before anything is
written; the output is built in a temporary folder beside OUT and renamed
into place at the end, so a failed run leaves no half-written OUT. Files
are hard links where SRC and OUT share a file system, else copies.

``--per-class N`` takes the first N training images of each class in file
name order (the repository numbers them in the order of the CIFAR-10
batches, which is random), so a subset is the same on every machine;
``--test-per-class`` does the same for the test split.

Usage::

    python tools/misc/prepare_cifar10.py SRC data/cifar10 [--per-class 1000]
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

from PIL import Image

from mmmaskreuse.datasets.folders import write_layout

CLASSES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog',
           'horse', 'ship', 'truck')
SPLIT_SIZES = {'train': 5000, 'test': 1000}
IMAGE_SIZE = (32, 32)
EXTENSIONS = ('.jpg', '.jpeg', '.png')
MANIFEST = 'prepare_cifar10.json'


def list_split(source: str, split: str) -> Dict[str, List[str]]:
    """The image files of one split, checked against CIFAR-10.

    Args:
        source (str): The folder holding ``train/`` and ``test/``.
        split (str): ``'train'`` or ``'test'``.

    Returns:
        dict: Class name -> sorted file names.

    Raises:
        ValueError: A class folder is missing or unexpected, or a class has
            another number of images than CIFAR-10's.
    """
    root = osp.join(source, split)
    if not osp.isdir(root):
        raise ValueError(f'{root} not found: SRC must hold train/ and test/ '
                         'with one folder per CIFAR-10 class')
    found = sorted(name for name in os.listdir(root)
                   if osp.isdir(osp.join(root, name)))
    missing = sorted(set(CLASSES) - set(found))
    extra = sorted(set(found) - set(CLASSES))
    if missing or extra:
        raise ValueError(f'{root}: class folders missing {missing}, '
                         f'unexpected {extra}')
    files = {}
    for name in CLASSES:
        files[name] = sorted(
            f for f in os.listdir(osp.join(root, name))
            if f.lower().endswith(EXTENSIONS))
        if len(files[name]) != SPLIT_SIZES[split]:
            raise ValueError(
                f'{osp.join(root, name)} holds {len(files[name])} images, '
                f'CIFAR-10 has {SPLIT_SIZES[split]} per class in {split}/')
    return files


def check_images(root: str, files: Dict[str, List[str]]) -> None:
    """Open every image header: 32 x 32, RGB.

    Raises:
        ValueError: Naming the first file that is not a 32 x 32 RGB image.
    """
    for name, names in files.items():
        for filename in names:
            path = osp.join(root, name, filename)
            try:
                with Image.open(path) as image:
                    size, mode = image.size, image.mode
            except OSError as error:
                raise ValueError(f'{path}: not an image ({error})') from None
            if size != IMAGE_SIZE or mode != 'RGB':
                raise ValueError(f'{path}: {size[0]}x{size[1]} {mode}, '
                                 f'CIFAR-10 images are {IMAGE_SIZE[0]}x'
                                 f'{IMAGE_SIZE[1]} RGB')


def prepare(source: str,
            out: str,
            per_class: Optional[int] = None,
            test_per_class: Optional[int] = None) -> dict:
    """Check ``source`` and write the class-folder layout to ``out``.

    Args:
        source (str): The ``CIFAR-10-images`` folder.
        out (str): Where to write; must not exist yet.
        per_class (int, optional): Training images taken per class (the
            first in file name order). Defaults to all 5,000.
        test_per_class (int, optional): The same for the test split.
            Defaults to all 1,000.

    Returns:
        dict: The manifest written beside the images.
    """
    taken = {'train': per_class, 'test': test_per_class}
    for split, number in taken.items():
        if number is not None and not 0 < number <= SPLIT_SIZES[split]:
            raise ValueError(f'{split} images per class must be in 1..'
                             f'{SPLIT_SIZES[split]}, got {number}')
    if osp.lexists(out):
        raise ValueError(f'{out} exists: remove it or choose another OUT')
    splits = {split: list_split(source, split) for split in SPLIT_SIZES}
    for split, files in splits.items():
        check_images(osp.join(source, split), files)

    chosen = {split: {name: names[:taken[split]]
                      for name, names in files.items()}
              for split, files in splits.items()}
    manifest = dict(
        source=osp.abspath(source),
        classes=list(CLASSES),
        per_class=per_class,
        test_per_class=test_per_class,
        counts={split: {name: len(names) for name, names in files.items()}
                for split, files in chosen.items()})
    write_layout(
        out, ((osp.join(source, split, name, filename),
               osp.join(split, name, filename))
              for split, files in chosen.items()
              for name, names in files.items() for filename in names),
        MANIFEST, manifest)
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Check CIFAR-10 JPEG class folders and lay them out '
        'for mmpretrain CustomDataset')
    parser.add_argument('src', help='the CIFAR-10-images folder '
                        '(train/<class>/, test/<class>/)')
    parser.add_argument('out', help='output folder (must not exist)')
    parser.add_argument('--per-class', type=int, default=None,
                        help='training images per class (default: all)')
    parser.add_argument('--test-per-class', type=int, default=None,
                        help='test images per class (default: all)')
    args = parser.parse_args(argv)
    try:
        manifest = prepare(args.src, args.out, args.per_class,
                           args.test_per_class)
    except ValueError as error:
        parser.error(str(error))
    for split, counts in manifest['counts'].items():
        print(f'{split}: {sum(counts.values())} images, '
              f'{len(counts)} classes -> {osp.join(args.out, split)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
