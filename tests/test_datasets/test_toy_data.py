import json
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import binary_erosion
from pycocotools.coco import COCO

from mmmaskreuse.datasets import toy_data
from mmmaskreuse.datasets.toy_data import (CLASSES, SCENE_SPEC, _draw_scene,
                                           _rng, make_toy_data)


def test_scenes_are_deterministic_under_a_seed():
    image_a, objects_a = _draw_scene(_rng(0, 1, 'train', 5), SCENE_SPEC)
    image_b, objects_b = _draw_scene(_rng(0, 1, 'train', 5), SCENE_SPEC)
    image_c, _ = _draw_scene(_rng(1, 1, 'train', 5), SCENE_SPEC)
    assert np.array_equal(np.asarray(image_a), np.asarray(image_b))
    assert all(a[0] == b[0] and np.array_equal(a[1], b[1])
               for a, b in zip(objects_a, objects_b))
    assert not np.array_equal(np.asarray(image_a), np.asarray(image_c))


def test_class_folders_are_balanced(toy_root):
    for split, per_class in toy_data.CLS_SPEC['split_sizes'].items():
        folders = sorted(os.listdir(toy_root / 'data/toy/cls' / split))
        assert folders == sorted(CLASSES)
        for name in folders:
            files = os.listdir(toy_root / 'data/toy/cls' / split / name)
            assert len(files) == per_class


def test_coco_polygons_match_their_boxes_and_areas(toy_root):
    coco = COCO(str(toy_root / 'data/toy/coco/annotations/'
                    'instances_val2017.json'))
    names = [c['name'] for c in coco.loadCats(coco.getCatIds())]
    assert names == list(CLASSES)
    assert len(coco.getImgIds()) == SCENE_SPEC['split_sizes']['val']
    for ann in coco.loadAnns(coco.getAnnIds()):
        mask = coco.annToMask(ann)
        ys, xs = np.nonzero(mask)
        x, y, w, h = ann['bbox']
        # rasterisation moves an edge by at most a pixel and a half
        assert abs(xs.min() - x) <= 1.5 and abs(xs.max() + 1 - x - w) <= 1.5
        assert abs(ys.min() - y) <= 1.5 and abs(ys.max() + 1 - y - h) <= 1.5
        assert mask.sum() == pytest.approx(ann['area'], rel=0.1)


def test_coco_masks_cover_the_drawn_object(toy_root):
    """The annotation is the rendered shape: inside it one flat colour."""
    root = toy_root / 'data/toy/coco'
    coco = COCO(str(root / 'annotations/instances_val2017.json'))
    for ann in coco.loadAnns(coco.getAnnIds())[:20]:
        info = coco.loadImgs(ann['image_id'])[0]
        image = np.asarray(Image.open(root / 'val2017' / info['file_name']),
                           np.float32)
        # two pixels in from the edge, where JPEG's chroma blur does not reach
        interior = binary_erosion(coco.annToMask(ann), iterations=2)
        assert interior.sum() > 50
        assert image[interior].std(0).max() < 6


def test_voc_layout_and_boxes(toy_root):
    root = toy_root / 'data/toy/voc/VOCdevkit/VOC2007'
    ids = (root / 'ImageSets/Main/test.txt').read_text().split()
    assert len(ids) == SCENE_SPEC['split_sizes']['val']
    tree = ET.parse(root / 'Annotations' / f'{ids[0]}.xml')
    assert tree.find('filename').text == f'{ids[0]}.jpg'
    for obj in tree.findall('object'):
        assert obj.find('name').text in CLASSES
        box = [int(obj.find(f'bndbox/{k}').text)
               for k in ('xmin', 'ymin', 'xmax', 'ymax')]
        assert 1 <= box[0] < box[2] <= SCENE_SPEC['size']
        assert 1 <= box[1] < box[3] <= SCENE_SPEC['size']
    assert (root / 'JPEGImages' / f'{ids[0]}.jpg').is_file()


def test_ade_label_maps_use_the_ade_convention(toy_root):
    root = toy_root / 'data/toy/ade/ADEChallengeData2016'
    names = sorted(os.listdir(root / 'annotations/validation'))
    assert len(names) == SCENE_SPEC['split_sizes']['val']
    seen = set()
    for name in names:
        label = np.asarray(Image.open(root / 'annotations/validation' / name))
        assert label.dtype == np.uint8 and label.shape == (128, 128)
        values = set(np.unique(label).tolist())
        assert 1 in values and values <= {1, 2, 3, 4, 5}
        seen |= values
        assert (root / 'images/validation' / name.replace('.png', '.jpg')
                ).is_file()
    assert seen == {1, 2, 3, 4, 5}


def test_a_second_run_reuses_the_data(toy_root, monkeypatch):
    out = str(toy_root / 'data/toy')
    manifest = json.loads((toy_root / 'data/toy/toy_data.json').read_text())

    def regenerate(*args):
        raise AssertionError('toy data regenerated')

    for task in toy_data.MAKERS:
        monkeypatch.setitem(toy_data.MAKERS, task, regenerate)
    assert make_toy_data(out) == manifest


def test_unknown_task_is_refused(tmp_path):
    with pytest.raises(ValueError, match='nope'):
        make_toy_data(str(tmp_path), tasks=('cls', 'nope'))
