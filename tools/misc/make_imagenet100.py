"""Build ImageNet-100 (CMC's 100-class subset) from ImageNet-1K, as links.

Reads the class list (one wnid a line, default
``configs/conditional_mae/imagenet100_classes.txt``) and writes class
folders that mmpretrain's ``CustomDataset`` reads, as the ImageNet-100
configs of ``configs/conditional_mae/`` expect::

    OUT/train/<wnid> -> IMAGENET/train/<wnid>      (a link per class)
    OUT/val/<wnid>   -> IMAGENET/val/<wnid>        (val in class folders)
    OUT/val/<wnid>/<image> -> IMAGENET/val/<image> (flat val + labels)

``IMAGENET/val`` may be in class folders, or flat with a label file of
``<image> <label>`` lines, the label a wnid or an index into the sorted
wnids of ``IMAGENET/train`` (mmpretrain's ``meta/val.txt``, the default).
Nothing is copied; a second run leaves existing, identical links alone.

Usage::

    python tools/misc/make_imagenet100.py data/imagenet data/imagenet100
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CLASSES = osp.join(REPO, 'configs', 'conditional_mae',
                           'imagenet100_classes.txt')


def read_classes(path: str) -> List[str]:
    """The wnids listed in ``path``, one a line, in file order."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'class list not found: {path}')
    with open(path) as f:
        wnids = [line.strip() for line in f if line.strip()]
    if len(set(wnids)) != len(wnids):
        raise ValueError(f'{path} lists a class twice')
    return wnids


def _link(target: str, link: str) -> bool:
    """Symlink ``link`` -> ``target``; False if that link already exists."""
    if osp.islink(link) and os.readlink(link) == target:
        return False
    if osp.lexists(link):
        raise FileExistsError(f'{link} exists and is not a link to {target}')
    os.symlink(target, link)
    return True


def _read_val_labels(path: str, train_wnids: Sequence[str]) -> Dict[str, str]:
    """``{image name: wnid}`` from ``<image> <wnid or index>`` lines."""
    labels = {}
    with open(path) as f:
        for line_number, line in enumerate(f, 1):
            if not line.strip():
                continue
            name, label = line.split()[:2]
            if label.isdigit():
                if int(label) >= len(train_wnids):
                    raise ValueError(
                        f'{path}:{line_number}: label {label} but train/ '
                        f'has {len(train_wnids)} classes')
                label = train_wnids[int(label)]
            labels[name] = label
    return labels


def count_images(folder: str) -> int:
    return sum(len(files) for _, _, files in os.walk(folder,
                                                     followlinks=True))


def make_imagenet100(imagenet: str,
                     out: str,
                     classes: str = DEFAULT_CLASSES,
                     val_labels: Optional[str] = None) -> Dict[str, int]:
    """Link the listed classes of ``imagenet`` into ``out``.

    Args:
        imagenet (str): ImageNet-1K folder with ``train/<wnid>/`` and
            ``val/``.
        out (str): Output folder (created).
        classes (str): Class list file. Defaults to the ImageNet-100 list.
        val_labels (str, optional): Label file for a flat ``val/``. Defaults
            to ``imagenet/meta/val.txt`` when ``val/`` has no class folders.

    Returns:
        dict[str, int]: ``classes``, ``train`` and ``val`` image counts.
    """
    wnids = read_classes(classes)
    imagenet = osp.abspath(imagenet)
    train, val = osp.join(imagenet, 'train'), osp.join(imagenet, 'val')
    for folder in (train, val):
        if not osp.isdir(folder):
            raise FileNotFoundError(f'{folder} not found: is {imagenet} an '
                                    'ImageNet folder with train/ and val/?')
    missing = [w for w in wnids if not osp.isdir(osp.join(train, w))]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} of the {len(wnids)} classes have no folder in '
            f'{train}, e.g. {", ".join(missing[:3])}')

    val_in_folders = all(osp.isdir(osp.join(val, w)) for w in wnids)
    if not val_in_folders:
        val_labels = val_labels or osp.join(imagenet, 'meta', 'val.txt')
        if not osp.isfile(val_labels):
            raise FileNotFoundError(
                f'{val} is not in class folders and the label file '
                f'{val_labels} is not there: pass --val-labels')
        train_wnids = sorted(os.listdir(train))
        labels = _read_val_labels(val_labels, train_wnids)

    for split in ('train', 'val'):
        os.makedirs(osp.join(out, split), exist_ok=True)
    for wnid in wnids:
        _link(osp.join(train, wnid), osp.join(out, 'train', wnid))
        if val_in_folders:
            _link(osp.join(val, wnid), osp.join(out, 'val', wnid))
    if not val_in_folders:
        wanted = set(wnids)
        for name, wnid in sorted(labels.items()):
            if wnid not in wanted:
                continue
            if not osp.isfile(osp.join(val, name)):
                raise FileNotFoundError(
                    f'{val_labels} lists {name}, which is not in {val}')
            os.makedirs(osp.join(out, 'val', wnid), exist_ok=True)
            _link(osp.join(val, name), osp.join(out, 'val', wnid, name))
    return dict(
        classes=len(wnids),
        train=count_images(osp.join(out, 'train')),
        val=count_images(osp.join(out, 'val')))


def main():
    parser = argparse.ArgumentParser(
        description='Build ImageNet-100 from ImageNet-1K as symlinks')
    parser.add_argument('imagenet', help='ImageNet-1K folder (train/, val/)')
    parser.add_argument('out', help='output folder, e.g. data/imagenet100')
    parser.add_argument(
        '--classes', default=DEFAULT_CLASSES,
        help='class list, one wnid a line (default: the ImageNet-100 list)')
    parser.add_argument(
        '--val-labels',
        help='labels of a flat val/: "<image> <wnid or index>" lines '
        '(default: IMAGENET/meta/val.txt)')
    args = parser.parse_args()
    try:
        counts = make_imagenet100(args.imagenet, args.out, args.classes,
                                  args.val_labels)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        parser.error(str(error))
    print(f'ImageNet subset in {args.out}: {counts["classes"]} classes, '
          f'{counts["train"]} train and {counts["val"]} val images')


if __name__ == '__main__':
    main()
