"""Sort Tiny-ImageNet-200's flat val/ folder into class folders.

The official archive keeps validation images in ``val/images`` with labels
in ``val/val_annotations.txt``; mmpretrain's ``CustomDataset`` (used by
``configs/*/resnet34_tinyimagenet.py``) reads class folders, as train/
already is. After this, ``val/<wnid>/<file>.JPEG``. Files are moved, not
copied; run it once (a second run finds nothing to move and says so).

Usage::

    python tools/misc/prepare_tinyimagenet.py data/tiny-imagenet-200
"""
import argparse
import os
import os.path as osp


def sort_val_images(root: str) -> int:
    """Move every ``val/images/<file>`` to ``val/<wnid>/<file>``.

    Args:
        root (str): The ``tiny-imagenet-200`` folder.

    Returns:
        int: Number of images moved.
    """
    val = osp.join(root, 'val')
    annotations = osp.join(val, 'val_annotations.txt')
    if not osp.isfile(annotations):
        raise FileNotFoundError(f'{annotations} not found: is {root} the '
                                'tiny-imagenet-200 folder?')
    train_classes = set(os.listdir(osp.join(root, 'train')))
    moved = 0
    with open(annotations) as f:
        for line_number, line in enumerate(f, 1):
            if not line.strip():
                continue
            filename, wnid = line.split('\t')[:2]
            if wnid not in train_classes:
                raise ValueError(f'{annotations}:{line_number}: class {wnid} '
                                 'has no train/ folder')
            source = osp.join(val, 'images', filename)
            if not osp.isfile(source):
                continue  # already sorted
            os.makedirs(osp.join(val, wnid), exist_ok=True)
            os.replace(source, osp.join(val, wnid, filename))
            moved += 1
    images = osp.join(val, 'images')
    if osp.isdir(images) and not os.listdir(images):
        os.rmdir(images)
    return moved


def main():
    parser = argparse.ArgumentParser(
        description='Sort Tiny-ImageNet val images into class folders')
    parser.add_argument('root', help='the tiny-imagenet-200 folder')
    args = parser.parse_args()
    try:
        moved = sort_val_images(args.root)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    print(f'moved {moved} val images into class folders under '
          f'{osp.join(args.root, "val")}')


if __name__ == '__main__':
    main()
