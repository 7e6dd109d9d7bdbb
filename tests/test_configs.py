"""Every config under configs/ builds its model, every MaskAnyNet config
differs from its vanilla twin only by the method, and every config the
docs name exists."""
import glob
import os.path as osp
import re
from contextlib import ExitStack
from unittest import mock

import pytest
import torch
from mmengine.config import Config

from mmmaskreuse.engine import build_model, set_work_dir
from mmmaskreuse.models import check_masked_pairing
from tests.conftest import read_recipe

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    osp.relpath(path, osp.join(REPO, 'configs'))
    for path in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                          recursive=True)
    if '_base_' not in path)
# An MAE twin of a transfer recipe differs from it only in the pretrain
# checkpoint (test_conditional_mae_configs.py): building it again adds
# nothing.
BUILT = [name for name in CONFIGS
         if not ('/transfer/' in name and '_L0_' in name)]
# What a MaskAnyNet config may change in its vanilla twin's recipe.
# mmpretrain configs hold the data preprocessor at the top level, mmdet and
# mmseg configs in the model; MaskAnyNet-only backbone arguments have no
# counterpart in the twin. Where the two start from checkpoints of their own
# families' recipes (STARTS_FROM), the twin test checks that pairing.
METHOD_KEYS = tuple(
    f'{where}data_preprocessor.{key}' for where in ('', 'model.')
    for key in ('type', 'mask_generator', 'prob', 'reuse_view')) + tuple(
        f'model.backbone.{key}' for key in ('type', 'freeze_reuse'))
INIT_CHECKPOINT = 'model.backbone.init_cfg.checkpoint'
PIPELINE = 'train_dataloader.dataset.pipeline'
REUSE_VIEW = 'mmmaskreuse.AutoAugmentReuseView'
# the classification recipes train as the authors do
AUTHORS_PROTOCOL = [
    f'maskanynet/{name}.py' for name in (
        'resnet50_imagenet', 'resnet101_imagenet', 'swin-t_imagenet',
        'vit-b16_imagenet', 'resnet34_cifar100', 'resnet34_tinyimagenet',
        'resnet34_cifar100_224px', 'resnet34_tinyimagenet_224px',
        'convnext-t_imagenet', 'efficientnetv2-s_imagenet',
        'resnet18_cifar10', 'cpu/resnet18-w16_cifar10',
        'resnet34_cifar10_224px',
        'toy/resnet18_toy_cls', 'toy/convnext-atto_toy_cls',
        'toy/efficientnetv2-b0_toy_cls')
]


def flatten(value, prefix=''):
    if isinstance(value, dict):
        items = {}
        for key, item in value.items():
            items.update(flatten(item, f'{prefix}{key}.'))
        return items
    return {prefix.rstrip('.'): value}


def build_uninitialised(cfg):
    """``build_model(cfg)`` without filling the weights with random values:
    what is built is the point here, and filling a ViT-L takes seconds."""
    def keep(tensor, *args, **kwargs):
        return tensor

    with ExitStack() as stack:
        for name in ('uniform_', 'normal_', 'trunc_normal_',
                     'kaiming_uniform_', 'kaiming_normal_', 'xavier_uniform_',
                     'xavier_normal_', 'orthogonal_'):
            stack.enter_context(mock.patch.object(torch.nn.init, name, keep))
        return build_model(cfg)


# what build_model reads, per config built so far: recipes that differ only
# in data or schedule (e.g. ImageNet-1K and -100 pretraining) build the
# same model, which is built once
_BUILT_MODELS = {}


@pytest.mark.parametrize('name', BUILT)
def test_config_builds_its_model(name):
    cfg = read_recipe(name)
    built_from = repr((cfg.model, cfg.get('data_preprocessor')))
    if built_from in _BUILT_MODELS:
        pytest.skip(f'the same model as {_BUILT_MODELS[built_from]}, built '
                    'there')
    _BUILT_MODELS[built_from] = name
    model = build_uninitialised(cfg)
    check_masked_pairing(model)
    is_maskanynet = name.startswith('maskanynet')
    assert getattr(model.backbone, 'takes_masked_inputs',
                   False) == is_maskanynet


# An ablation that changes what the method starts from has a twin too.
TWINS = [
    name for name in CONFIGS if name.startswith('maskanynet') and (
        '/ablations/' not in name or name.endswith('_torchvision-init.py'))
]

# The ResNet detection recipes, whose frozen_stages=1 freezes the reuse
# branch, start from the classification recipe of their family and depth:
# MaskAnyNet's from ours, the vanilla twins from the vanilla one.
STARTS_FROM = {
    f'{family}/resnet{depth}_{task}.py': f'{family}/resnet{depth}_imagenet.py'
    for family in ('maskanynet', 'baselines') for depth in (50, 101)
    for task in ('coco_maskrcnn', 'voc_fasterrcnn')
}


def last_checkpoint(recipe):
    """Where ``tools/train.py RECIPE`` writes its last epoch: its default
    work dir and the recipe's last epoch."""
    cfg = Config()
    set_work_dir(cfg, None, osp.join(REPO, 'configs', recipe))
    epochs = read_recipe(recipe).train_cfg
    return osp.join(osp.normpath(cfg.work_dir),
                    f'epoch_{epochs.max_epochs}.pth')


@pytest.mark.parametrize('name', TWINS)
def test_maskanynet_config_is_its_twin_plus_the_method(name):
    """Only the method differs, and for the ResNet detectors the starting
    checkpoint: each the one its family's ImageNet recipe of the same depth
    writes."""
    twin = name.replace('maskanynet', 'baselines', 1)
    assert osp.isfile(osp.join(REPO, 'configs', twin)), f'{twin} is missing'
    ours = flatten(read_recipe(name).to_dict())
    theirs = flatten(read_recipe(twin).to_dict())
    if name in STARTS_FROM:
        assert ours.pop(INIT_CHECKPOINT) == last_checkpoint(STARTS_FROM[name])
        assert theirs.pop(INIT_CHECKPOINT) == last_checkpoint(
            STARTS_FROM[twin])
    changed = {
        key
        for key in set(ours) | set(theirs)
        if ours.get(key) != theirs.get(key)
    }
    assert changed, 'a MaskAnyNet config must change the backbone'
    # the authors' protocol adds the reuse view's copy, nothing else
    if PIPELINE in changed:
        changed.remove(PIPELINE)
        assert ours[PIPELINE][:-1] == theirs[PIPELINE]
        assert ours[PIPELINE][-1]['type'] == REUSE_VIEW
    assert all(key.startswith(METHOD_KEYS) for key in changed), sorted(
        key for key in changed if not key.startswith(METHOD_KEYS))


@pytest.mark.parametrize('name', AUTHORS_PROTOCOL)
def test_classification_recipes_follow_the_authors_protocol(name):
    """20 % of the samples masked; the others' reuse branch sees the
    pipeline's AutoAugment copy, made after PackInputs, in the colour order
    of the images (CIFAR's arrays are RGB, loaded files BGR)."""
    cfg = read_recipe(name)
    assert cfg.data_preprocessor.prob == 0.2
    assert cfg.data_preprocessor.reuse_view == 'augmented'
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert pipeline[-2]['type'] == 'PackInputs'
    assert pipeline[-1]['type'] == REUSE_VIEW
    assert pipeline[-1].get('to_rgb', True) == cfg.data_preprocessor.to_rgb


@pytest.mark.parametrize('name,recipe', sorted(STARTS_FROM.items()))
def test_detection_starts_from_the_checkpoint_its_recipe_writes(
        name, recipe):
    """The default work_dir of tools/train.py and the last epoch; the
    recipe of the same depth, and ours freezes its reuse branch."""
    backbone = read_recipe(name).model.backbone
    classifier = read_recipe(recipe)
    assert backbone.init_cfg == dict(type='Pretrained',
                                     checkpoint=last_checkpoint(recipe),
                                     prefix='backbone.')
    assert classifier.model.backbone.depth == backbone.depth
    assert backbone.frozen_stages == 1
    if name.startswith('maskanynet'):
        assert backbone.freeze_reuse


def test_the_twins_imagenet_recipes_write_to_different_folders():
    """They share a file name; the detectors' pairing needs both
    checkpoints."""
    for depth in (50, 101):
        assert last_checkpoint(f'maskanynet/resnet{depth}_imagenet.py') != (
            last_checkpoint(f'baselines/resnet{depth}_imagenet.py'))


@pytest.mark.parametrize('name', ['baselines/resnet50_coco_maskrcnn.py',
                                  'maskanynet/resnet50_coco_maskrcnn.py'])
def test_a_detector_names_the_checkpoint_it_lacks(name, monkeypatch,
                                                  tmp_path):
    """Before the ImageNet recipe has run, building the detector stops,
    naming the checkpoint it would start from."""
    monkeypatch.chdir(tmp_path)  # no work_dirs/ here
    cfg = read_recipe(name)
    with pytest.raises(FileNotFoundError) as error:
        build_model(cfg, init_weights=True)
    assert last_checkpoint(STARTS_FROM[name]) in str(error.value)


@pytest.mark.parametrize('name,source_size', [
    ('maskanynet/resnet34_cifar100_224px.py', 32),
    ('maskanynet/resnet34_cifar10_224px.py', 32),
    ('maskanynet/resnet34_tinyimagenet_224px.py', 64)])
def test_224px_twins_mask_at_the_scale_of_the_authors_source_images(
        name, source_size):
    """The authors mask CIFAR (32 px) and Tiny-ImageNet (64 px) images
    before upsampling them to 224 px: the Grid's cells are in source
    pixels."""
    cfg = read_recipe(name)
    generator = cfg.data_preprocessor.mask_generator
    assert generator.grid == 'authors'
    assert generator.source_size == source_size
    resize = [t for t in cfg.train_dataloader.dataset.pipeline
              if t['type'] == 'Resize']
    assert [t['scale'] for t in resize] == [(224, 224)]


# a config path as the docs write it: configs/... .py, maybe with a shell
# glob or brace list; after '.mim/', one of an upstream package's configs
DOC_CONFIG = re.compile(r'(\.mim/)?(configs/[\w./{},*-]+?\.py)\b')


def expand_braces(pattern):
    """``a{b,c}d`` -> ``['abd', 'acd']``, as the shell does."""
    brace = re.search(r'\{([^{}]*)\}', pattern)
    if brace is None:
        return [pattern]
    head, tail = pattern[:brace.start()], pattern[brace.end():]
    return [path for alternative in brace.group(1).split(',')
            for path in expand_braces(head + alternative + tail)]


def test_every_config_the_docs_and_tools_name_exists():
    """Every ``configs/...py`` in docs/, README.md and the files of tools/
    and mmmaskreuse/ (docstrings and comments) names a config that exists
    (each alternative of a brace list, at least one file per glob); after
    ``.mim/``, a config of mmpretrain, mmdet, mmseg or ours."""
    import mmdet
    import mmpretrain
    import mmseg
    upstream = [osp.join(osp.dirname(package.__file__), '.mim')
                for package in (mmpretrain, mmdet, mmseg)]
    sources = [osp.join(REPO, 'README.md'),
               *glob.glob(osp.join(REPO, 'docs', '**', '*.md'),
                          recursive=True)]
    for folder in ('tools', 'mmmaskreuse'):
        for ext in ('py', 'sh'):
            sources += glob.glob(osp.join(REPO, folder, '**', f'*.{ext}'),
                                 recursive=True)
    missing, named = [], 0
    for source in sources:
        with open(source, encoding='utf-8') as f:
            text = f.read()
        for found in DOC_CONFIG.finditer(text):
            # '.mim/configs/...': an upstream package's, or ours installed
            roots = upstream + [REPO] if found.group(1) else [REPO]
            for path in expand_braces(found.group(2)):
                named += 1
                if not any(glob.glob(osp.join(root, path)) for root in roots):
                    missing.append(f'{osp.relpath(source, REPO)}: {path}')
    assert named > 50  # the pattern finds them
    assert missing == [], 'configs named but missing:\n' + '\n'.join(missing)
