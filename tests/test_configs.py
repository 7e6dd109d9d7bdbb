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
# counterpart in the twin.
METHOD_KEYS = tuple(
    f'{where}data_preprocessor.{key}' for where in ('', 'model.')
    for key in ('type', 'mask_generator', 'prob')) + tuple(
        f'model.backbone.{key}' for key in ('type', 'freeze_reuse'))


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
