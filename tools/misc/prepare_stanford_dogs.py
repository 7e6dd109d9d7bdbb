"""Lay Stanford Dogs out as train/ and test/ class folders.

The official archives unpack to ``Images/<wnid>-<breed>/<file>.jpg`` and
``lists/{train,test}_list.mat``, whose ``file_list`` names each split's
images relative to ``Images/``. mmpretrain has no dataset class for it; its
``CustomDataset`` (used by
``configs/conditional_mae/transfer/vit-s16_*_stanford-dogs.py``) reads
class folders. After this, ``train/<wnid>-<breed>/<file>.jpg`` and
``test/...`` are relative symbolic links into ``Images/`` (no copies);
a second run finds them in place and says so.

Usage::

    python tools/misc/prepare_stanford_dogs.py data/stanford_dogs
"""
import argparse
import os
import os.path as osp

SPLITS = ('train', 'test')


def split_files(root: str, split: str) -> list:
    """The image paths (relative to ``Images/``) of ``lists/<split>_list.mat``.

    Args:
        root (str): The Stanford Dogs folder.
        split (str): ``'train'`` or ``'test'``.

    Returns:
        list[str]: Paths such as ``n02085620-Chihuahua/n02085620_5927.jpg``.
    """
    from scipy.io import loadmat
    path = osp.join(root, 'lists', f'{split}_list.mat')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found: is {root} the folder '
                                'holding Images/ and lists/?')
    return [str(entry.flat[0]) for entry in loadmat(path)['file_list'].flat]


def link_split(root: str, split: str) -> int:
    """Link every image of ``split`` into ``<root>/<split>/<class>/``.

    Args:
        root (str): The Stanford Dogs folder.
        split (str): ``'train'`` or ``'test'``.

    Returns:
        int: Number of links made (0 when all were already there).
    """
    made = 0
    for name in split_files(root, split):
        source = osp.join(root, 'Images', name)
        if not osp.isfile(source):
            raise FileNotFoundError(f'{source} is listed in {split}_list.mat '
                                    'but missing: unpack images.tar first')
        link = osp.join(root, split, name)
        if osp.lexists(link):
            continue
        os.makedirs(osp.dirname(link), exist_ok=True)
        os.symlink(osp.relpath(source, osp.dirname(link)), link)
        made += 1
    return made


def main():
    parser = argparse.ArgumentParser(
        description='Lay Stanford Dogs out as train/ and test/ class folders')
    parser.add_argument('root', help='the folder with Images/ and lists/')
    args = parser.parse_args()
    for split in SPLITS:
        try:
            made = link_split(args.root, split)
        except FileNotFoundError as error:
            parser.error(str(error))
        print(f'{split}: linked {made} images into class folders under '
              f'{osp.join(args.root, split)}')


if __name__ == '__main__':
    main()
