"""attention_stats.py and layer_cka.py as a user runs them, on checkpoints
of the toy Conditional MAE ViT whose answers are known."""
import json
import math

import pytest
import torch

from mmmaskreuse.analysis import patch_distances
from mmmaskreuse.engine import build_model, load_config
from tests.conftest import config, run_tool_here

PRETRAIN = config('conditional_mae/toy/vit-tiny_two-shot_toy_pretrain.py')


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """The toy pretrain ViT at its seeded initialisation, and the same with
    every q and k projection zeroed: uniform attention everywhere."""
    folder = tmp_path_factory.mktemp('representations')
    torch.manual_seed(0)
    model = build_model(load_config(PRETRAIN), init_weights=True)
    state = model.state_dict()
    paths = dict(random=folder / 'random.pth', uniform=folder / 'uniform.pth')
    torch.save(dict(state_dict=state), paths['random'])
    embed = model.backbone.embed_dims
    for key in list(state):
        if key.endswith('attn.qkv.weight') or key.endswith('attn.qkv.bias'):
            state[key] = state[key].clone()
            state[key][:2 * embed] = 0  # q and k
    torch.save(dict(state_dict=state), paths['uniform'])
    return {name: str(path) for name, path in paths.items()}


def test_attention_stats_of_uniform_attention_and_of_a_real_one(
        toy_root, tmp_path, checkpoints):
    proc = run_tool_here([
        'analysis_tools/attention_stats.py', PRETRAIN,
        checkpoints['uniform'], PRETRAIN, checkpoints['random'], '--labels',
        'uniform', 'random', '--img-dir', 'data/toy/cls/val',
        '--num-images', '6', '--batch-size', '4', '--out-dir', str(tmp_path)
    ], toy_root, check=True)
    assert 'uniform layer 4: distance' in proc.stdout
    results = json.loads((tmp_path / 'attention_stats.json').read_text())
    assert (tmp_path / 'attention_stats.png').stat().st_size > 10_000
    uniform, random = results['uniform'], results['random']
    assert uniform['num_images'] == 6
    # 64x64 toy images, 8-pixel patches: 64 patches on an 8x8 grid
    mean_distance = patch_distances((8, 8), 8).mean().item()
    for layer in range(4):
        assert uniform['entropy'][layer] == pytest.approx([math.log(64)] * 3)
        assert uniform['distance'][layer] == pytest.approx(
            [mean_distance] * 3)
    # a trained-or-not model attends unevenly: lower entropy somewhere
    assert min(min(h) for h in random['entropy']) < math.log(64) - 1e-3


def test_layer_cka_of_a_model_with_itself_is_one_on_the_diagonal(
        toy_root, tmp_path, checkpoints):
    run_tool_here([
        'analysis_tools/layer_cka.py', PRETRAIN, checkpoints['random'],
        PRETRAIN, checkpoints['random'], '--img-dir', 'data/toy/cls/val',
        '--num-images', '10', '--batch-size', '5', '--out-dir',
        str(tmp_path)
    ], toy_root, check=True)
    result = json.loads((tmp_path / 'cka.json').read_text())
    matrix = torch.tensor(result['cka'], dtype=torch.float64)
    assert result['num_images'] == 10 and matrix.shape == (4, 4)
    torch.testing.assert_close(matrix.diagonal(),
                               torch.ones(4, dtype=torch.float64))
    torch.testing.assert_close(matrix, matrix.T)
    assert (matrix < 1 - 1e-6).sum() == 12  # layers differ from each other
    assert (tmp_path / 'cka.png').stat().st_size > 5_000


@pytest.mark.parametrize('tool,args,message', [
    ('attention_stats.py', [PRETRAIN], 'CONFIG CHECKPOINT pairs'),
    ('layer_cka.py', [PRETRAIN, 'missing.pth', PRETRAIN, 'missing.pth'],
     'checkpoint not found: missing.pth'),
])
def test_bad_arguments_are_named(toy_root, tool, args, message):
    proc = run_tool_here([f'analysis_tools/{tool}', *args, '--img-dir',
                          'data/toy/cls/val'], toy_root)
    assert proc.returncode == 2 and message in proc.stdout
