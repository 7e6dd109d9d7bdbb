"""Every config under configs/ builds its model, and every MaskAnyNet
config differs from its vanilla twin only by the method."""
import glob
import os.path as osp

import pytest

from mmmaskreuse.engine import build_model, load_config
from mmmaskreuse.models import check_masked_pairing

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    osp.relpath(path, osp.join(REPO, 'configs'))
    for path in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                          recursive=True)
    if '_base_' not in path)
# What a MaskAnyNet config may change in its vanilla twin's recipe.
# mmpretrain configs hold the data preprocessor at the top level, mmdet and
# mmseg configs in the model; MaskAnyNet-only backbone arguments have no
# counterpart in the twin. A downstream backbone may start from a MaskAnyNet
# classification checkpoint (checked by the test of STARTS_FROM_OURS).
METHOD_KEYS = tuple(
    f'{where}data_preprocessor.{key}' for where in ('', 'model.')
    for key in ('type', 'mask_generator', 'prob')) + tuple(
        f'model.backbone.{key}'
        for key in ('type', 'freeze_reuse', 'init_cfg.checkpoint',
                    'init_cfg.prefix'))


def flatten(value, prefix=''):
    if isinstance(value, dict):
        items = {}
        for key, item in value.items():
            items.update(flatten(item, f'{prefix}{key}.'))
        return items
    return {prefix.rstrip('.'): value}


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds_its_model(name):
    cfg = load_config(osp.join(REPO, 'configs', name))
    model = build_model(cfg)
    check_masked_pairing(model)
    is_maskanynet = name.startswith('maskanynet')
    assert getattr(model.backbone, 'takes_masked_inputs',
                   False) == is_maskanynet


TWINS = [
    name for name in CONFIGS
    if name.startswith('maskanynet') and '/ablations/' not in name
]


@pytest.mark.parametrize('name', TWINS)
def test_maskanynet_config_is_its_twin_plus_the_method(name):
    twin = name.replace('maskanynet', 'baselines', 1)
    assert osp.isfile(osp.join(REPO, 'configs', twin)), f'{twin} is missing'
    ours = flatten(load_config(osp.join(REPO, 'configs', name)).to_dict())
    theirs = flatten(load_config(osp.join(REPO, 'configs', twin)).to_dict())
    changed = {
        key
        for key in set(ours) | set(theirs)
        if ours.get(key) != theirs.get(key)
    }
    assert changed, 'a MaskAnyNet config must change the backbone'
    assert all(key.startswith(METHOD_KEYS) for key in changed), sorted(
        key for key in changed if not key.startswith(METHOD_KEYS))


# The ResNet detection recipes, whose frozen_stages=1 freezes the reuse
# branch, start from our classification recipes' checkpoints.
STARTS_FROM_OURS = {
    f'maskanynet/resnet{depth}_{task}.py':
    f'maskanynet/resnet{depth}_imagenet.py'
    for depth in (50, 101) for task in ('coco_maskrcnn', 'voc_fasterrcnn')
}


@pytest.mark.parametrize('name,recipe', sorted(STARTS_FROM_OURS.items()))
def test_detection_starts_from_the_checkpoint_our_recipe_writes(name, recipe):
    """The default work_dir of tools/train.py and the last epoch."""
    backbone = load_config(osp.join(REPO, 'configs', name)).model.backbone
    classifier = load_config(osp.join(REPO, 'configs', recipe))
    work_dir = osp.splitext(osp.basename(recipe))[0]
    last = classifier.train_cfg.max_epochs
    assert backbone.init_cfg == dict(
        type='Pretrained', checkpoint=f'work_dirs/{work_dir}/epoch_{last}.pth',
        prefix='backbone.')
    assert backbone.freeze_reuse and backbone.frozen_stages == 1
    assert classifier.model.backbone.depth == backbone.depth


def test_only_our_checkpoints_change_the_init():
    changed = []
    for name in TWINS:
        ours = load_config(osp.join(REPO, 'configs', name)).get('model', {})
        twin = name.replace('maskanynet', 'baselines', 1)
        theirs = load_config(osp.join(REPO, 'configs', twin)).get('model', {})
        if ours.get('backbone', {}).get('init_cfg') != theirs.get(
                'backbone', {}).get('init_cfg'):
            changed.append(name)
    assert sorted(changed) == sorted(STARTS_FROM_OURS)
