import os.path as osp

import pytest
from mmengine.config import Config

from mmmaskreuse.engine import check_dataset_paths, load_config, set_work_dir
from tests.conftest import config

TOY_CONFIGS = ('resnet18_toy_cls.py', 'resnet50_coco_maskrcnn_toy.py',
               'resnet50_voc_fasterrcnn_toy.py',
               'resnet50_ade20k_upernet_toy.py')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def test_missing_config_is_named(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='config file not found: .*x.py'):
        load_config(str(tmp_path / 'x.py'))


@pytest.mark.parametrize('name', TOY_CONFIGS)
def test_toy_configs_find_the_toy_data(name, toy_root, monkeypatch):
    monkeypatch.chdir(toy_root)
    check_dataset_paths(load_config(config(f'baselines/toy/{name}')), LOADERS)


@pytest.mark.parametrize('name', TOY_CONFIGS)
def test_missing_toy_data_says_how_to_make_it(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(config(f'baselines/toy/{name}'))
    with pytest.raises(FileNotFoundError) as error:
        check_dataset_paths(cfg, LOADERS)
    message = str(error.value)
    assert 'data/toy' in message
    assert 'train_dataloader.dataset' in message
    assert 'tools/misc/make_toy_data.py' in message


def test_wrapped_datasets_are_checked(tmp_path):
    (tmp_path / 'a').mkdir()
    leaf = dict(type='X', data_root=str(tmp_path / 'a'), ann_file='',
                data_prefix=dict(img='imgs/'))
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        type='RepeatDataset', times=3,
        dataset=dict(type='ConcatDataset', datasets=[leaf])))))
    with pytest.raises(FileNotFoundError) as error:
        check_dataset_paths(cfg, ('train_dataloader', ))
    assert 'imgs' in str(error.value)
    assert 'dataset.dataset.datasets.0.data_prefix.img' in str(error.value)
    (tmp_path / 'a' / 'imgs').mkdir()
    check_dataset_paths(cfg, ('train_dataloader', ))


def test_remote_paths_are_not_checked():
    cfg = Config(dict(test_dataloader=dict(dataset=dict(
        data_root='s3://bucket/coco', ann_file='ann.json'))))
    check_dataset_paths(cfg, ('test_dataloader', ))


def test_work_dir_priority_cli_then_config_then_config_name(tmp_path):
    elsewhere = str(tmp_path / 'a' / 'my_config.py')
    cfg = Config(dict(work_dir='from_config'))
    set_work_dir(cfg, 'from_cli', elsewhere)
    assert cfg.work_dir == 'from_cli'
    cfg = Config(dict(work_dir='from_config'))
    set_work_dir(cfg, None, elsewhere)
    assert cfg.work_dir == 'from_config'
    # a config outside this repository's configs/: upstream's default
    cfg = Config(dict())
    set_work_dir(cfg, None, elsewhere)
    assert cfg.work_dir == './work_dirs/my_config'


@pytest.mark.parametrize('path', [
    'maskanynet/resnet50_imagenet.py', 'baselines/resnet50_imagenet.py',
    'baselines/toy/resnet18_toy_cls.py',
    'maskanynet/ablations/resnet50_coco_maskrcnn_torchvision-init.py'
])
def test_a_repo_config_writes_to_its_path_below_configs(path, monkeypatch,
                                                        tmp_path):
    """So a MaskAnyNet config and its vanilla twin, which share a file
    name, never write into each other's folder; from any folder, by
    relative or absolute path."""
    expected = f'./work_dirs/{path[:-3]}'
    monkeypatch.chdir(tmp_path)
    for name in (config(path), osp.relpath(config(path), tmp_path)):
        cfg = Config(dict())
        set_work_dir(cfg, None, name)
        assert cfg.work_dir == expected
