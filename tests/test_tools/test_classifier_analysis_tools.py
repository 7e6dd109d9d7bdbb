"""The classifier analyses through their commands: the robustness table
and the reuse-branch ablation (each figure checked against
``tools/test.py`` with the ``--cfg-options`` the tool's docstring gives
for it) and Grad-CAM; the inputs they build are ``tools/test.py``'s, and a
checkpoint that does not fit its config is refused as there."""
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
        '--img-dir', images, '--num-images', '3', '--out-dir', str(out)
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
        inputs = next(normalised_batches(model, paths, 3))
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
        'maskanynet', '--img-dir', images, '--num-images', '8', '--out-dir',
        str(tmp_path)
    ], toy_root)
    assert proc.returncode == 0, proc.stdout[-3000:]
    result = json.loads((tmp_path / 'tsne.json').read_text())
    paths = pick_images(list_images(images), 8)
    assert result['images'] == paths
    names = result['class_names']
    assert names == sorted({path.split('/')[-2] for path in paths})
    plain = result['models']['plain']
    # ResNet-18 on the 64-px images of the test pipeline: a 2 x 2 map
    assert plain['patches_per_image'] == 4
    assert plain['classes'] == [
        names.index(path.split('/')[-2]) for path in paths for _ in range(4)]
    # the plain model's own features, embedded as the tool embeds them
    model = load_model(PLAIN, random_checkpoints['plain'])
    features = patch_features(
        model, next(normalised_batches(model, paths, 8)))
    points = tsne_embedding(features.flatten(0, 1).numpy())
    assert np.allclose(plain['points'], points, atol=1e-3)
    assert plain['neighbour_agreement'] == pytest.approx(
        neighbour_agreement(points, np.array(plain['classes'])), abs=1e-3)
    assert (tmp_path / 'tsne.png').stat().st_size > 10_000


# a test pipeline that resizes and crops, as mmpretrain's ImageNet one
RESIZING = [dict(type='LoadImageFromFile'),
            dict(type='ResizeEdge', scale=80, edge='short'),
            dict(type='CenterCrop', crop_size=56), dict(type='PackInputs')]


@pytest.mark.parametrize('to_rgb,pipeline', [(True, None), (False, None),
                                             (True, RESIZING)])
def test_analysis_inputs_are_what_test_py_feeds_the_model(
        toy_root, tmp_path, to_rgb, pipeline):
    """The inputs of the analysis tools for some files are the batch that
    the config's test dataloader and the model's data preprocessor make of
    them: resized as its test pipeline says, in the channel order the
    preprocessor's to_rgb says."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from mmmaskreuse.analysis import load_model, normalised_batches
    from mmmaskreuse.engine import build_model, load_config
    options = {'data_preprocessor.to_rgb': to_rgb}
    if pipeline:
        options['test_dataloader.dataset.pipeline'] = pipeline
    cfg = load_config(PLAIN, options)
    checkpoint = tmp_path / 'random.pth'
    torch.save(dict(state_dict=build_model(cfg).state_dict()), checkpoint)
    model = load_model(cfg, str(checkpoint))
    loader_cfg = dict(cfg.test_dataloader, num_workers=0,
                      persistent_workers=False, batch_size=3)
    loader_cfg['dataset'] = dict(loader_cfg['dataset'], indices=3,
                                 data_root=str(toy_root / 'data/toy/cls'))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        batch = next(iter(Runner.build_dataloader(loader_cfg)))
    expected = model.data_preprocessor(batch, False)['inputs']
    paths = [sample.img_path for sample in batch['data_samples']]
    inputs = next(normalised_batches(model, paths, 3))
    assert inputs.shape == ((3, 3, 56, 56) if pipeline else (3, 3, 64, 64))
    assert torch.equal(inputs, expected)
    # the channels as the model reads them: RGB only where it converts
    bgr = torch.stack(batch['inputs']).float()
    red = bgr[:, 2] if to_rgb else bgr[:, 0]
    mean, std = model.data_preprocessor.mean, model.data_preprocessor.std
    assert torch.allclose(inputs[:, 0], (red - mean[0]) / std[0])


@pytest.mark.parametrize('tool', ['analysis_tools/robustness.py',
                                  'visualization/grad_cam.py',
                                  'visualization/tsne_features.py'])
def test_analysis_tools_refuse_a_checkpoint_that_does_not_fit(
        toy_root, tmp_path, random_checkpoints, tool):
    """An empty checkpoint, and the MaskAnyNet one on the vanilla config:
    refused, naming both files and the weights, before anything is
    written."""
    empty = tmp_path / 'empty.pth'
    torch.save(dict(state_dict={}), empty)
    images = ['--img-dir', str(toy_root / 'data' / 'toy' / 'cls' / 'val'),
              '--num-images', '2'] if 'visualization' in tool else [
                  '--num-images', '2']
    for checkpoint, message in (
            (str(empty), 'it holds no weights for 122 entries of the model '
             '(backbone.conv1.weight'),
            (random_checkpoints['maskanynet'], 'weights the model has no '
             'entry for (backbone.reuse_stem.conv.weight')):
        proc = run_tool_here([tool, PLAIN, checkpoint, *images, '--out-dir',
                              str(tmp_path / 'out')], toy_root)
        assert proc.returncode == 2, proc.stdout[-3000:]
        assert f'{checkpoint} does not fit the model of {PLAIN}' in proc.stdout
        assert message in proc.stdout
        assert not (tmp_path / 'out').exists()
