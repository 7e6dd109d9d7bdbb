"""tools/misc/make_imagenet100.py on a tiny fake ImageNet."""
import os.path as osp

import pytest
from mmpretrain.datasets import ImageNet
from PIL import Image

from tests.conftest import REPO, run_tool_here

CLASS_LIST = osp.join(REPO, 'configs', 'conditional_mae',
                      'imagenet100_classes.txt')
with open(CLASS_LIST) as f:
    IN100 = f.read().split()
OTHERS = ['n00000001', 'n99999999']  # ImageNet classes not in the subset


def image(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new('RGB', (8, 8)).save(path)


def fake_imagenet(root, flat_val):
    """Two train images and one val image a class; ``flat_val``: val/ as
    the official archive (one folder) with mmpretrain's meta/val.txt."""
    wnids = sorted(IN100 + OTHERS)
    lines = []
    for index, wnid in enumerate(wnids):
        for number in range(2):
            image(root / 'train' / wnid / f'{wnid}_{number}.JPEG')
        name = f'ILSVRC2012_val_{index:08d}_{wnid}.JPEG'
        if flat_val:
            image(root / 'val' / name)
            lines.append(f'{name} {index}')
        else:
            image(root / 'val' / wnid / name)
    if flat_val:
        (root / 'meta').mkdir()
        (root / 'meta' / 'val.txt').write_text('\n'.join(lines))


@pytest.mark.parametrize('flat_val', [False, True])
def test_subset_holds_exactly_the_listed_classes(tmp_path, flat_val):
    fake_imagenet(tmp_path / 'imagenet', flat_val)
    out = tmp_path / 'imagenet100'
    for _ in range(2):  # a second run finds its links and keeps them
        proc = run_tool_here([
            'misc/make_imagenet100.py',
            str(tmp_path / 'imagenet'),
            str(out)
        ], tmp_path, check=True)
        assert '100 classes, 200 train and 100 val images' in proc.stdout
    for split, per_class in (('train', 2), ('val', 1)):
        dataset = ImageNet(
            data_root=str(out), split=split,
            metainfo=dict(classes=CLASS_LIST))
        assert len(dataset) == 100 * per_class
        # every image is labelled with its own class: the fake images carry
        # their wnid in the file name
        for index in range(len(dataset)):
            info = dataset.get_data_info(index)
            wnid = dataset.CLASSES[info['gt_label']]
            assert wnid in IN100
            assert wnid in osp.basename(osp.realpath(info['img_path']))


def test_missing_classes_are_named(tmp_path):
    image(tmp_path / 'imagenet' / 'train' / IN100[0] / 'a.JPEG')
    (tmp_path / 'imagenet' / 'val').mkdir()
    proc = run_tool_here(['misc/make_imagenet100.py',
                          str(tmp_path / 'imagenet'),
                          str(tmp_path / 'out')], tmp_path)
    assert proc.returncode == 2
    assert '99 of the 100 classes have no folder' in proc.stdout
    assert IN100[1] in proc.stdout
