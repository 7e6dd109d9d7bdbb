"""The classifier analyses through their commands: the robustness table
and the reuse-branch ablation (each figure checked against
``tools/test.py`` with the ``--cfg-options`` the tool's docstring gives
for it) and Grad-CAM."""
import csv
import json

import numpy as np
import pytest
import torch

from tests.conftest import config, last_metric, run_tool_here

PLAIN = config('baselines/toy/resnet18_toy_cls.py')
DEMO = config('maskanynet/toy/resnet18_toy_cls.py')
FIRST_16 = ['test_dataloader.dataset.indices=16',
            'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False']


@pytest.fixture(scope='module')
def random_checkpoints(tmp_path_factory):
    """The plain and the MaskAnyNet toy classifiers with seeded random
    weights: their answers depend on the patches and on the reuse image,
    so the corruptions and the ablations change their top-1 on the first
    16 test images (all of one class)."""
    from mmmaskreuse.engine import build_model, load_config
    folder = tmp_path_factory.mktemp('robustness')
    paths = {}
    for name, path in (('plain', PLAIN), ('maskanynet', DEMO)):
        torch.manual_seed(0)
        model = build_model(load_config(path), init_weights=True)
        paths[name] = str(folder / f'{name}_random.pth')
        torch.save(dict(state_dict=model.state_dict()), paths[name])
    return paths


def test_robustness_table_matches_test_py(toy_root, tmp_path,
                                          random_checkpoints):
    out = tmp_path / 'robustness'
    proc = run_tool_here([
        'analysis_tools/robustness.py', PLAIN, random_checkpoints['plain'],
        DEMO, random_checkpoints['maskanynet'], '--labels', 'plain',
        'maskanynet',
        '--num-images', '16', '--out-dir', str(out)
    ], toy_root)
    assert proc.returncode == 0, proc.stdout[-3000:]
    table = json.loads((out / 'robustness.json').read_text())['top1']
    assert sorted(table) == ['maskanynet', 'plain']
    with open(out / 'robustness.csv') as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['model', 'clean', 'occluded', 'shuffled']
    for row in rows[1:]:
        assert [float(v) for v in row[1:]] == pytest.approx(
            [table[row[0]][c] for c in rows[0][1:]], abs=0.01)
    assert (out / 'robustness.png').stat().st_size > 5_000
    plain = table['plain']
    assert plain['shuffled'] != plain['clean']  # the corruption applied
    test = run_tool_here([
        'test.py', PLAIN, random_checkpoints['plain'], '--cfg-options',
        'data_preprocessor.type=mmmaskreuse.CorruptedClsDataPreprocessor',
        'data_preprocessor.test_corruption.type=shuffle', *FIRST_16
    ], toy_root, check=True)
    assert last_metric(test.stdout, 'accuracy/top1') == pytest.approx(
        plain['shuffled'], abs=1e-3)


def test_reuse_ablation_matches_test_py(toy_root, tmp_path,
                                        random_checkpoints):
    """On the first 64 test images (50 of class 0, 14 of class 1: the
    other image must be of another label, which a batch of one class has
    not)."""
    checkpoint = random_checkpoints['maskanynet']
    out = tmp_path / 'ablation'
    proc = run_tool_here([
        'analysis_tools/reuse_ablation.py', DEMO, checkpoint,
        '--num-images', '64', '--out-dir', str(out)
    ], toy_root)
    assert proc.returncode == 0, proc.stdout[-3000:]
    result = json.loads((out / 'reuse_ablation.json').read_text())
    top1 = result['top1']
    assert sorted(top1) == ['downsample', 'other_image', 'zeros']
    assert result['drop']['zeros'] == pytest.approx(top1['downsample'] -
                                                    top1['zeros'])
    assert (out / 'reuse_ablation.png').stat().st_size > 5_000
    assert top1['zeros'] != top1['downsample']  # the branch was fed zeros
    assert top1['other_image'] != top1['downsample']
    test = run_tool_here([
        'test.py', DEMO, checkpoint, '--cfg-options',
        'data_preprocessor.other_image_at_test=True',
        'test_dataloader.sampler.shuffle=True',
        'test_dataloader.sampler.seed=0',
        'test_dataloader.dataset.indices=64',
        *FIRST_16[1:]
    ], toy_root, check=True)
    assert last_metric(test.stdout, 'accuracy/top1') == pytest.approx(
        top1['other_image'], abs=1e-3)


def test_reuse_ablation_refuses_a_model_without_reuse_branch(
        toy_root, random_checkpoints):
    proc = run_tool_here(['analysis_tools/reuse_ablation.py', PLAIN,
                          random_checkpoints['plain']], toy_root)
    assert proc.returncode == 2
    assert 'backbone ResNet has no reuse branch' in proc.stdout


def test_grad_cam_draws_each_model_on_the_same_images(
        toy_root, tmp_path, random_checkpoints, trained_classifier):
    from mmmaskreuse.analysis import (list_images, load_model,
                                      normalised_batches, pick_images)
    models = {'MaskAnyNet': (DEMO, trained_classifier.checkpoint),
              'vanilla': (PLAIN, random_checkpoints['plain'])}
    images, out = str(toy_root / 'data' / 'toy' / 'cls' / 'val'), tmp_path
    proc = run_tool_here([
        'visualization/grad_cam.py', *models['MaskAnyNet'],
        *models['vanilla'], '--labels', 'MaskAnyNet', 'vanilla',
        '--img-dir', images, '--num-images', '3', '--img-size', '64',
        '--out-dir', str(out)
    ], toy_root)
    assert proc.returncode == 0, proc.stdout[-3000:]
    result = json.loads((out / 'grad_cam.json').read_text())
    assert result['target_layers'] == {
        'MaskAnyNet': 'backbone.layer4', 'vanilla': 'backbone.layer4'}
    paths = pick_images(list_images(images), 3)
    assert [r['image'] for r in result['images']] == paths
    # each column holds its own model's prediction on those images
    for label, (cfg, checkpoint) in models.items():
        model = load_model(cfg, checkpoint)
        inputs = next(normalised_batches(model, paths, 3, 64))
        with torch.no_grad():
            predicted = model(inputs, mode='tensor').argmax(-1).tolist()
        assert [r['models'][label]['class_index']
                for r in result['images']] == predicted
    # the trained checkpoint names its classes; the bare weights do not
    names = ['circle', 'cross', 'square', 'triangle']
    for record in result['images']:
        trained = record['models']['MaskAnyNet']
        bare = record['models']['vanilla']
        assert trained['class_name'] == names[trained['class_index']]
        assert bare['class_name'] == str(bare['class_index'])
    assert (out / 'grad_cam.png').stat().st_size > 20_000


def test_tsne_embeds_every_patch_position_of_each_model(toy_root, tmp_path,
                                                        random_checkpoints):
    from mmmaskreuse.analysis import (list_images, load_model,
                                      neighbour_agreement, normalised_batches,
                                      patch_features, pick_images,
                                      tsne_embedding)
    images = str(toy_root / 'data' / 'toy' / 'cls' / 'val')
    proc = run_tool_here([
        'visualization/tsne_features.py', PLAIN, random_checkpoints['plain'],
        DEMO, random_checkpoints['maskanynet'], '--labels', 'plain',
        'maskanynet', '--img-dir', images, '--num-images', '8', '--img-size',
        '128', '--out-dir', str(tmp_path)
    ], toy_root)
    assert proc.returncode == 0, proc.stdout[-3000:]
    result = json.loads((tmp_path / 'tsne.json').read_text())
    paths = pick_images(list_images(images), 8)
    assert result['images'] == paths
    names = result['class_names']
    assert names == sorted({path.split('/')[-2] for path in paths})
    plain = result['models']['plain']
    # ResNet-18 at 128 px: a 4 x 4 map, 16 points per image
    assert plain['patches_per_image'] == 16
    assert plain['classes'] == [
        names.index(path.split('/')[-2]) for path in paths for _ in range(16)]
    # the plain model's own features, embedded as the tool embeds them
    model = load_model(PLAIN, random_checkpoints['plain'])
    features = patch_features(
        model, next(normalised_batches(model, paths, 8, 128)))
    points = tsne_embedding(features.flatten(0, 1).numpy())
    assert np.allclose(plain['points'], points, atol=1e-3)
    assert plain['neighbour_agreement'] == pytest.approx(
        neighbour_agreement(points, np.array(plain['classes'])), abs=1e-3)
    assert (tmp_path / 'tsne.png').stat().st_size > 10_000
