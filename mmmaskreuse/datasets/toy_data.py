"""Deterministic toy datasets in the on-disk formats of the real ones.

Scenes are coloured shapes (the classes), tilted by at most 15 degrees, on
textured backgrounds. A shape's colour is drawn independently of its class,
so models have to learn shape, not colour. Every shape is a polygon: the
same vertices are rasterised into the image and written as the COCO polygon /
ADE label, so annotations match pixels exactly.

Layout written under ``out`` (the folder names of the real datasets, so a
config switches to real data by changing ``data_root`` only)::

    cls/{train,val}/<class>/*.jpg                    mmpretrain CustomDataset
    coco/{train2017,val2017}/*.jpg
    coco/annotations/instances_{train2017,val2017}.json    mmdet CocoDataset
    voc/VOCdevkit/VOC2007/{JPEGImages,Annotations,ImageSets/Main}
    ade/ADEChallengeData2016/{images,annotations}/{training,validation}
"""
import json
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ('circle', 'square', 'triangle', 'cross')
# ADE20K reserves label 0 ("other", ignored through reduce_zero_label); the
# toy maps background to 1 and CLASSES[i] to i + 2.
ADE_CLASSES = ('background', ) + CLASSES
PALETTE = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200),
           (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230),
           (250, 250, 250), (20, 20, 20))
FORMAT_VERSION = 3

# Shapes stand nearly upright: with free rotation a ResNet trained from
# scratch needs far more CPU minutes before it tells the classes apart.
MAX_TILT = np.deg2rad(15)
# image side, objects per image, object size range (px), images per split
CLS_SPEC = dict(size=64, objects=(1, 1), scale=(28, 52),
                split_sizes=dict(train=500, val=50))  # per class
SCENE_SPEC = dict(size=128, objects=(1, 3), scale=(30, 64),
                  split_sizes=dict(train=128, val=32))

Polygon = np.ndarray  # (K, 2) float xy vertices


def shape_polygon(kind: str, center: Tuple[float, float], size: float,
                  angle: float) -> Polygon:
    """Vertices of a shape of diameter ``size`` px rotated by ``angle`` rad."""
    if kind == 'circle':
        t = np.linspace(0, 2 * np.pi, 32, endpoint=False)
        unit = np.stack([np.cos(t), np.sin(t)], 1) * 0.5
    elif kind == 'square':
        unit = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * 0.5 / 2**0.5
    elif kind == 'triangle':
        t = np.pi / 2 + np.arange(3) * 2 * np.pi / 3
        unit = np.stack([np.cos(t), np.sin(t)], 1) * 0.5
    elif kind == 'cross':
        a, b = 0.5, 0.17
        unit = np.array([[-b, -a], [b, -a], [b, -b], [a, -b], [a, b], [b, b],
                         [b, a], [-b, a], [-b, b], [-a, b], [-a, -b],
                         [-b, -b]])
    else:
        raise ValueError(f'unknown shape {kind!r}, expected one of {CLASSES}')
    rotation = np.array([[np.cos(angle), -np.sin(angle)],
                         [np.sin(angle), np.cos(angle)]])
    return unit @ rotation.T * size + np.asarray(center)


def textured_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A muted (size, size, 3) uint8 texture: smooth blotches plus stripes."""
    coarse = rng.uniform(-1, 1, (size // 16 + 1, size // 16 + 1, 3))
    blotches = np.asarray(
        Image.fromarray(((coarse + 1) * 127.5).astype(np.uint8)).resize(
            (size, size), Image.BILINEAR), np.float32) / 127.5 - 1
    yy, xx = np.mgrid[:size, :size]
    theta, period = rng.uniform(0, np.pi), rng.uniform(6, 20)
    stripes = np.sin(2 * np.pi * (xx * np.cos(theta) + yy * np.sin(theta)) /
                     period)[..., None]
    base = rng.uniform(80, 170) + rng.uniform(-15, 15, 3)
    image = (base + 25 * blotches + 12 * stripes +
             rng.normal(0, 5, (size, size, 3)))
    return np.clip(image, 0, 255).astype(np.uint8)


def _draw_scene(rng: np.random.Generator, spec: dict,
                label=None) -> Tuple[Image.Image, List[Tuple[int, Polygon]]]:
    """Render one scene; returns the image and its ``(class, polygon)``s.

    Objects do not overlap (their boxes are kept apart), so each polygon is
    exactly the visible region of its object.
    """
    size = spec['size']
    image = Image.fromarray(textured_background(rng, size))
    draw = ImageDraw.Draw(image)
    count = rng.integers(spec['objects'][0], spec['objects'][1] + 1)
    objects, boxes = [], []
    for _ in range(50 * count):
        if len(objects) == count:
            break
        cls = int(rng.integers(len(CLASSES))) if label is None else label
        diameter = rng.uniform(*spec['scale'])
        center = rng.uniform(diameter / 2 + 1, size - diameter / 2 - 1, 2)
        polygon = shape_polygon(CLASSES[cls], center, diameter,
                                rng.uniform(-MAX_TILT, MAX_TILT))
        box = np.concatenate([polygon.min(0) - 2, polygon.max(0) + 2])
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3]
               and b[1] < box[3] for b in boxes):
            continue
        color = PALETTE[rng.integers(len(PALETTE))]
        draw.polygon([tuple(p) for p in polygon], fill=color)
        objects.append((cls, polygon))
        boxes.append(box)
    return image, objects


def _rng(seed: int, task: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, task, split == 'val', index])


def _bbox_xyxy(polygon: Polygon, size: int) -> List[float]:
    low = np.clip(polygon.min(0), 0, size)
    high = np.clip(polygon.max(0), 0, size)
    return [float(v) for v in (*low, *high)]


def _polygon_area(polygon: Polygon) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) -
                           np.dot(y, np.roll(x, 1))))


def _save_jpg(image: Image.Image, path: str) -> None:
    image.save(path, quality=95)


def make_cls(out: str, seed: int) -> Dict[str, int]:
    """Class folders for mmpretrain ``CustomDataset``."""
    counts = {}
    for split, per_class in CLS_SPEC['split_sizes'].items():
        for label, name in enumerate(CLASSES):
            folder = osp.join(out, 'cls', split, name)
            os.makedirs(folder, exist_ok=True)
            for index in range(per_class):
                rng = _rng(seed, 10 + label, split, index)
                image, _ = _draw_scene(rng, CLS_SPEC, label=label)
                _save_jpg(image, osp.join(folder, f'{name}_{index:04d}.jpg'))
        counts[split] = per_class * len(CLASSES)
    return counts


def make_coco(out: str, seed: int) -> Dict[str, int]:
    """COCO instances json with polygon masks, train2017/val2017 layout."""
    counts = {}
    os.makedirs(osp.join(out, 'coco', 'annotations'), exist_ok=True)
    size = SCENE_SPEC['size']
    for split, num_images in SCENE_SPEC['split_sizes'].items():
        folder = f'{split}2017'
        os.makedirs(osp.join(out, 'coco', folder), exist_ok=True)
        images, annotations = [], []
        for index in range(num_images):
            image, objects = _draw_scene(_rng(seed, 1, split, index),
                                         SCENE_SPEC)
            file_name = f'{index + 1:012d}.jpg'
            _save_jpg(image, osp.join(out, 'coco', folder, file_name))
            images.append(dict(id=index + 1, file_name=file_name,
                               height=size, width=size))
            for cls, polygon in objects:
                x1, y1, x2, y2 = _bbox_xyxy(polygon, size)
                annotations.append(
                    dict(id=len(annotations) + 1, image_id=index + 1,
                         category_id=cls + 1, iscrowd=0,
                         bbox=[x1, y1, x2 - x1, y2 - y1],
                         area=_polygon_area(polygon),
                         segmentation=[polygon.round(2).ravel().tolist()]))
        categories = [dict(id=i + 1, name=n, supercategory='shape')
                      for i, n in enumerate(CLASSES)]
        with open(osp.join(out, 'coco', 'annotations',
                           f'instances_{folder}.json'), 'w') as f:
            json.dump(dict(images=images, annotations=annotations,
                           categories=categories), f)
        counts[split] = num_images
    return counts


def _voc_xml(file_name: str, size: int, objects) -> ET.ElementTree:
    root = ET.Element('annotation')
    ET.SubElement(root, 'folder').text = 'VOC2007'
    ET.SubElement(root, 'filename').text = file_name
    size_node = ET.SubElement(root, 'size')
    for key, value in (('width', size), ('height', size), ('depth', 3)):
        ET.SubElement(size_node, key).text = str(value)
    for cls, polygon in objects:
        node = ET.SubElement(root, 'object')
        ET.SubElement(node, 'name').text = CLASSES[cls]
        ET.SubElement(node, 'pose').text = 'Unspecified'
        ET.SubElement(node, 'truncated').text = '0'
        ET.SubElement(node, 'difficult').text = '0'
        box = ET.SubElement(node, 'bndbox')
        x1, y1, x2, y2 = _bbox_xyxy(polygon, size)
        # VOC boxes are 1-based inclusive pixel indices
        for key, value in (('xmin', x1 + 1), ('ymin', y1 + 1), ('xmax', x2),
                           ('ymax', y2)):
            ET.SubElement(box, key).text = str(int(round(value)))
    return ET.ElementTree(root)


def make_voc(out: str, seed: int) -> Dict[str, int]:
    """VOCdevkit/VOC2007 with XML boxes; trainval and test image sets."""
    root = osp.join(out, 'voc', 'VOCdevkit', 'VOC2007')
    for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    counts, offset = {}, 0
    for split, set_name in (('train', 'trainval'), ('val', 'test')):
        ids = []
        for index in range(SCENE_SPEC['split_sizes'][split]):
            image, objects = _draw_scene(_rng(seed, 2, split, index),
                                         SCENE_SPEC)
            image_id = f'{offset + index + 1:06d}'
            _save_jpg(image, osp.join(root, 'JPEGImages', f'{image_id}.jpg'))
            _voc_xml(f'{image_id}.jpg', SCENE_SPEC['size'], objects).write(
                osp.join(root, 'Annotations', f'{image_id}.xml'))
            ids.append(image_id)
        with open(osp.join(root, 'ImageSets', 'Main', f'{set_name}.txt'),
                  'w') as f:
            f.write('\n'.join(ids) + '\n')
        offset += len(ids)
        counts[set_name] = len(ids)
    return counts


def make_ade(out: str, seed: int) -> Dict[str, int]:
    """ADEChallengeData2016 images (jpg) and label maps (png)."""
    root = osp.join(out, 'ade', 'ADEChallengeData2016')
    size = SCENE_SPEC['size']
    counts = {}
    for split, folder, stem in (('train', 'training', 'ADE_train'),
                                ('val', 'validation', 'ADE_val')):
        for sub in ('images', 'annotations'):
            os.makedirs(osp.join(root, sub, folder), exist_ok=True)
        for index in range(SCENE_SPEC['split_sizes'][split]):
            image, objects = _draw_scene(_rng(seed, 3, split, index),
                                         SCENE_SPEC)
            label = Image.new('L', (size, size), 1)
            draw = ImageDraw.Draw(label)
            for cls, polygon in objects:
                draw.polygon([tuple(p) for p in polygon], fill=cls + 2)
            name = f'{stem}_{index + 1:08d}'
            _save_jpg(image, osp.join(root, 'images', folder, f'{name}.jpg'))
            label.save(osp.join(root, 'annotations', folder, f'{name}.png'))
        counts[split] = SCENE_SPEC['split_sizes'][split]
    return counts


MAKERS = dict(cls=make_cls, coco=make_coco, voc=make_voc, ade=make_ade)


def make_toy_data(out: str, seed: int = 0, tasks=tuple(MAKERS),
                  force: bool = False) -> dict:
    """Write the toy datasets; skipped when ``out`` already holds them.

    Args:
        out (str): Output folder, e.g. ``data/toy``.
        seed (int): Seed of every image. Defaults to 0.
        tasks (tuple[str]): Subset of ``('cls', 'coco', 'voc', 'ade')``.
        force (bool): Regenerate even if a matching manifest exists.

    Returns:
        dict: The manifest (seed, classes and image counts per task).
    """
    unknown = set(tasks) - set(MAKERS)
    if unknown:
        raise ValueError(f'unknown toy tasks {sorted(unknown)}, expected a '
                         f'subset of {list(MAKERS)}')
    manifest_path = osp.join(out, 'toy_data.json')
    if not force and osp.isfile(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
        if (manifest.get('version') == FORMAT_VERSION
                and manifest.get('seed') == seed
                and set(tasks) <= set(manifest.get('counts', {}))):
            return manifest
    os.makedirs(out, exist_ok=True)
    manifest = dict(version=FORMAT_VERSION, seed=seed, classes=CLASSES,
                    counts={task: MAKERS[task](out, seed) for task in tasks})
    with open(manifest_path, 'w') as f:
        json.dump(manifest, f, indent=2)
    return manifest
