import os
import socket

import pytest
import torch
import torch.distributed as torch_dist
import torch.nn as nn
from mmengine.config import Config

from mmmaskreuse.engine.dist import (CPUDistributedDataParallel,
                                     _export_torch_env, setup_cpu_distributed)


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_launcher_none_changes_nothing():
    cfg = Config(dict(model=dict(type='X')))
    assert setup_cpu_distributed(cfg, 'none') is False
    assert 'model_wrapper_cfg' not in cfg


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only path')
def test_gloo_group_and_cpu_wrapper(monkeypatch):
    for key, value in dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0',
                           MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=str(_free_port())).items():
        monkeypatch.setenv(key, value)
    cfg = Config(dict(find_unused_parameters=True))
    try:
        assert setup_cpu_distributed(cfg, 'pytorch') is True
        assert torch_dist.get_backend() == 'gloo'
        assert cfg.model_wrapper_cfg == dict(
            type='mmmaskreuse.CPUDistributedDataParallel',
            broadcast_buffers=False, find_unused_parameters=True)
        model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.SyncBatchNorm(4))
        # the Runner passes device_ids=[LOCAL_RANK]; CPU DDP must drop them
        wrapped = CPUDistributedDataParallel(model, device_ids=[0])
        assert isinstance(wrapped.module[1], nn.modules.batchnorm._BatchNorm)
        assert not isinstance(wrapped.module[1], nn.SyncBatchNorm)
        assert wrapped(torch.rand(2, 3, 8, 8)).shape == (2, 4, 6, 6)
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()


def test_slurm_variables_become_torch_ones(monkeypatch):
    for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_PORT'):
        monkeypatch.delenv(key, raising=False)
    for key, value in dict(SLURM_PROCID='3', SLURM_NTASKS='8',
                           SLURM_LOCALID='1',
                           MASTER_ADDR='node7').items():
        monkeypatch.setenv(key, value)
    _export_torch_env('slurm')
    assert (os.environ['RANK'], os.environ['WORLD_SIZE'],
            os.environ['LOCAL_RANK']) == ('3', '8', '1')
    assert os.environ['MASTER_PORT'] == '29500'


def test_missing_launcher_variables_are_named(monkeypatch):
    monkeypatch.delenv('OMPI_COMM_WORLD_RANK', raising=False)
    with pytest.raises(RuntimeError, match='OMPI_COMM_WORLD_RANK'):
        _export_torch_env('mpi')


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only path')
def test_unknown_wrapper_is_refused_on_cpu(monkeypatch):
    monkeypatch.setattr(torch_dist, 'is_initialized', lambda: True)
    for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK'):
        monkeypatch.setenv(key, '0')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    cfg = Config(
        dict(model_wrapper_cfg=dict(type='MMFullyShardedDataParallel')))
    with pytest.raises(ValueError, match='MMFullyShardedDataParallel'):
        setup_cpu_distributed(cfg, 'pytorch')
