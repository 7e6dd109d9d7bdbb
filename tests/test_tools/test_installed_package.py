"""The user's story (docs/configs_and_data.md, "MaskAnyNet on your
backbone"), from a folder outside the checkout with the package installed
from a wheel: a leaf config of a few lines inherits ``mmmaskreuse::`` toy
configs, puts MaskAnyNet on a backbone we have no class for, trains two
iterations with the installed ``tools/train.py`` and tests with its
``tools/test.py``; for a classifier and a detector."""
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
import torch

from tests.conftest import REPO, last_metric, run_tool

CLASSIFIER = """\
_base_ = 'mmmaskreuse::maskanynet/toy/resnet18_toy_cls.py'
model = dict(
    backbone=dict(_delete_=True, type='mmmaskreuse.MaskAnyBackbone',
                  backbone=dict(type='MobileNetV2', widen_factor=0.5),
                  fuse_after='conv1'),
    head=dict(in_channels=1280))
"""
DETECTOR = """\
_base_ = 'mmmaskreuse::maskanynet/toy/resnet50_voc_fasterrcnn_toy.py'
model = dict(
    backbone=dict(_delete_=True, type='mmmaskreuse.MaskAnyBackbone',
                  backbone=dict(type='RegNet', arch='regnetx_400mf',
                                norm_eval=False), fuse_after='relu'),
    neck=dict(in_channels=[32, 64, 160, 384]))
"""
NO_WORKERS = ['{}.num_workers=0', '{}.persistent_workers=False']
# two iterations of batch 32 (the classifier) or 2 (the detector), no
# validation (test.py follows)
SHORT = {
    'classifier': ['train_cfg.max_epochs=1', 'train_cfg.val_begin=2',
                   'train_dataloader.dataset.indices=64',
                   *[o.format('train_dataloader') for o in NO_WORKERS]],
    'detector': ['train_cfg.max_epochs=1', 'train_cfg.val_begin=2',
                 'train_dataloader.batch_size=2',
                 'train_dataloader.dataset.indices=4',
                 *[o.format('train_dataloader') for o in NO_WORKERS]],
}
TEST_SHORT = {
    'classifier': ['test_dataloader.dataset.indices=8',
                   *[o.format('test_dataloader') for o in NO_WORKERS]],
    'detector': ['test_dataloader.dataset.indices=4',
                 *[o.format('test_dataloader') for o in NO_WORKERS]],
}
LEAVES = {'classifier': CLASSIFIER, 'detector': DETECTOR}
METRIC = {'classifier': 'accuracy/top1', 'detector': 'pascal_voc/mAP'}


def source_files():
    """What a clone of the checkout holds, uncommitted files included."""
    listed = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
        cwd=REPO, check=True, stdout=subprocess.PIPE, text=True).stdout
    return [path for path in listed.splitlines()
            if path != '.venv' and osp.isfile(osp.join(REPO, path))]


def copy_source(folder):
    for path in source_files():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(osp.join(REPO, path), target)


@pytest.fixture(scope='session')
def installed(tmp_path_factory):
    """The package as ``pip install`` of its wheel puts it: built from a
    copy of the checkout (the build writes into its source folder), then
    installed without dependencies into a folder of its own, which comes
    first on PYTHONPATH (the stack is the test environment's)."""
    work = tmp_path_factory.mktemp('wheel')
    copy_source(work / 'src')
    pip = [sys.executable, '-m', 'pip', '--disable-pip-version-check', '-q']
    subprocess.run([*pip, 'wheel', '--no-deps', '--no-build-isolation',
                    str(work / 'src'), '-w', str(work / 'dist')], check=True)
    wheel, = (work / 'dist').glob('mmmaskreuse-*.whl')
    subprocess.run([*pip, 'install', '--no-deps', '--target',
                    str(work / 'site'), str(wheel)], check=True)
    return wheel, work / 'site'


def run_installed(site, tool, args, cwd):
    return run_tool([str(site / 'mmmaskreuse' / '.mim' / 'tools' / tool),
                     *args], cwd, env={'PYTHONPATH': str(site)})


def test_the_wheel_carries_configs_tools_and_model_index(installed):
    wheel, site = installed
    names = zipfile.ZipFile(wheel).namelist()
    mim = 'mmmaskreuse/.mim/'
    for path in source_files():
        if path.startswith(('configs/', 'tools/')) or path == \
                'model-index.yml':
            assert mim + path in names
    assert not any(name.startswith(('tests/', 'docs/')) for name in names)
    # the installed copy is what a fresh interpreter imports outside the
    # checkout (inside it, `python -c` finds the checkout's first)
    where = subprocess.run(
        [sys.executable, '-c', 'import importlib.util as u; '
         "print(u.find_spec('mmmaskreuse').origin)"],
        env={'PYTHONPATH': str(site)}, cwd=site.parent, check=True,
        stdout=subprocess.PIPE, text=True).stdout.strip()
    assert where == str(site / 'mmmaskreuse' / '__init__.py')


def test_an_editable_install_links_configs_and_tools(tmp_path):
    """``pip install -e .`` (``setup.py develop``) links them: edits to the
    checkout's configs show at once."""
    copy_source(tmp_path / 'src')
    (tmp_path / 'site').mkdir()
    subprocess.run(
        [sys.executable, 'setup.py', '-q', 'develop', '--no-deps',
         '--install-dir', str(tmp_path / 'site')],
        cwd=tmp_path / 'src', env=dict(os.environ,
                                       PYTHONPATH=str(tmp_path / 'site')),
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    mim = tmp_path / 'src' / 'mmmaskreuse' / '.mim'
    for name in ('configs', 'tools', 'model-index.yml'):
        assert (mim / name).is_symlink()
        assert (mim / name).resolve() == tmp_path / 'src' / name


@pytest.fixture(scope='module', params=['classifier', 'detector'])
def trained(request, installed, toy_root, tmp_path_factory):
    """A leaf config, written in a user's folder (with ``data/toy``),
    trained two iterations by the installed ``tools/train.py``."""
    _, site = installed
    kind = request.param
    user = tmp_path_factory.mktemp(f'user_{kind}')
    (user / 'data').symlink_to(toy_root / 'data')
    leaf = user / f'{kind}.py'
    leaf.write_text(LEAVES[kind])
    work_dir = user / 'work_dirs'
    log = run_installed(site, 'train.py', [
        str(leaf), '--work-dir', str(work_dir), '--cfg-options',
        *SHORT[kind]], user).stdout
    return kind, site, user, leaf, work_dir / 'epoch_1.pth', log


# the upstream backbone's own name of its first weight
UPSTREAM_KEY = {'classifier': 'backbone.conv1.conv.weight',
                'detector': 'backbone.conv1.weight'}


def test_a_leaf_config_puts_maskanynet_on_a_new_backbone_from_outside(
        trained):
    kind, site, user, leaf, checkpoint, log = trained
    assert len(LEAVES[kind].splitlines()) <= 6
    assert '[1][2/2]' in log  # two iterations
    state_dict = torch.load(checkpoint, map_location='cpu',
                            weights_only=False)['state_dict']
    # the plain backbone's weight names, and a reuse branch
    assert UPSTREAM_KEY[kind] in state_dict
    assert 'backbone.reuse_fusion.alignment.layers.0.conv.weight' in \
        state_dict
    tested = run_installed(site, 'test.py', [
        str(leaf), str(checkpoint), '--cfg-options', *TEST_SHORT[kind]],
        user).stdout
    assert last_metric(tested, METRIC[kind]) >= 0


def run_mim(site, args, cwd):
    """``mim ARGS`` as a user's shell runs it, with the wheel's copy first
    on the path; the finished process, output merged."""
    return subprocess.run(
        [sys.executable, '-m', 'mim', *args], cwd=cwd,
        env=dict(os.environ, PYTHONPATH=str(site)), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=600)


def test_mim_trains_and_tests_a_leaf_config_from_outside(
        installed, toy_root, tmp_path):
    """``mim train mmmaskreuse LEAF`` and ``mim test mmmaskreuse LEAF
    --checkpoint ...`` run the wheel's tools on the user's leaf config."""
    _, site = installed
    # mim installs a package it cannot find (from the index): make sure it
    # finds the wheel's copy before it is asked to run anything
    found = subprocess.run(
        [sys.executable, '-c', 'from mim.utils import get_installed_path; '
         "print(get_installed_path('mmmaskreuse'))"],
        env=dict(os.environ, PYTHONPATH=str(site)), cwd=tmp_path,
        check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    assert found == str(site / 'mmmaskreuse')
    (tmp_path / 'data').symlink_to(toy_root / 'data')
    (tmp_path / 'classifier.py').write_text(CLASSIFIER)
    trained = run_mim(site, [
        'train', 'mmmaskreuse', 'classifier.py', '--work-dir', 'work_dirs',
        '--cfg-options', *SHORT['classifier']], tmp_path)
    assert trained.returncode == 0, trained.stdout[-3000:]
    assert str(site / 'mmmaskreuse' / '.mim' / 'tools' / 'train.py') in \
        trained.stdout
    assert '[1][2/2]' in trained.stdout
    tested = run_mim(site, [
        'test', 'mmmaskreuse', 'classifier.py', '--checkpoint',
        'work_dirs/epoch_1.pth', '--cfg-options',
        *TEST_SHORT['classifier']], tmp_path)
    assert tested.returncode == 0, tested.stdout[-3000:]
    assert str(site / 'mmmaskreuse' / '.mim' / 'tools' / 'test.py') in \
        tested.stdout
    assert last_metric(tested.stdout, 'accuracy/top1') >= 0


def test_mim_search_lists_every_recipe_of_the_model_index(installed,
                                                          tmp_path):
    _, site = installed
    from modelindex.load_model_index import load
    models = load(osp.join(REPO, 'model-index.yml')).models
    listed = run_mim(site, ['search', 'mmmaskreuse'], tmp_path)
    assert listed.returncode == 0, listed.stdout[-3000:]
    ids = re.findall(r'^config id: (\S+)$', listed.stdout, re.MULTILINE)
    assert sorted(ids) == sorted(model.name for model in models)
