import os
import signal
import socket
import threading

import pytest
import torch
import torch.distributed as torch_dist
import torch.nn as nn
from mmengine.config import Config

from mmmaskreuse.engine import dist
from mmmaskreuse.engine.dist import (CPUDistributedDataParallel,
                                     _export_torch_env, end_with_launcher,
                                     setup_cpu_distributed, slurm_job_port)


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


class _Counter(nn.Module):
    """A model with mmengine's step methods and one BN."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(2)

    def val_step(self, data):
        return [self.bn.running_mean.clone()]

    test_step = val_step


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only path')
def test_evaluation_uses_rank0_buffers_once_after_training(monkeypatch):
    """Each process keeps its own BN running statistics while training; the
    checkpoint holds rank 0's, so an evaluation must run with them."""
    for key, value in dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0',
                           MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=str(_free_port())).items():
        monkeypatch.setenv(key, value)
    try:
        setup_cpu_distributed(Config(), 'pytorch')
        wrapped = CPUDistributedDataParallel(_Counter())
        sources = []

        def broadcast(tensor, src):  # what rank 1 would receive
            sources.append(src)
            tensor.fill_(7.0 if tensor.is_floating_point() else 7)

        monkeypatch.setattr(torch_dist, 'broadcast', broadcast)
        assert wrapped.val_step(None)[0].tolist() == [7.0, 7.0]
        assert sources == [0] * 3  # running mean, var, batch count
        wrapped.test_step(None)  # nothing trained since: no second copy
        assert len(sources) == 3
        monkeypatch.setattr(type(wrapped).__mro__[1], 'train_step',
                            lambda self, data, optim_wrapper: {})
        wrapped.train_step(None, None)
        wrapped.test_step(None)
        assert len(sources) == 6
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


def _slurm_env(monkeypatch, tmp_path, node_list, scontrol=None):
    """SLURM variables without MASTER_ADDR; PATH holds only a fake
    ``scontrol`` (shell script body), or no scontrol at all."""
    for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR',
                'MASTER_PORT', 'SLURM_JOB_ID'):
        monkeypatch.delenv(key, raising=False)
    for key, value in dict(SLURM_PROCID='0', SLURM_NTASKS='2',
                           SLURM_LOCALID='0',
                           SLURM_NODELIST=node_list).items():
        monkeypatch.setenv(key, value)
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    if scontrol is not None:
        script = bin_dir / 'scontrol'
        script.write_text('#!/bin/sh\n' + scontrol)
        script.chmod(0o755)
    monkeypatch.setenv('PATH', str(bin_dir))


def test_slurm_node_list_reaches_scontrol_as_one_argument(
        monkeypatch, tmp_path):
    hostile = f'x; touch {tmp_path / "owned"} #'
    args = tmp_path / 'args'
    _slurm_env(monkeypatch, tmp_path, hostile,
               f'printf "%s\\n" "$@" > {args}\necho node3\necho node4\n')
    monkeypatch.setenv('SLURM_JOB_ID', '123456')
    _export_torch_env('slurm')
    assert os.environ['MASTER_ADDR'] == 'node3'
    assert args.read_text().splitlines() == ['show', 'hostnames', hostile]
    assert not (tmp_path / 'owned').exists()
    # the port follows the job: two jobs on one node do not clash
    assert os.environ['MASTER_PORT'] == str(slurm_job_port('123456'))


def test_slurm_jobs_get_ports_apart_and_clear_of_ephemeral_ones():
    """Jobs 4242 and 14242 shared port 33742, among the ports Linux hands
    to outgoing connections (32768-60999)."""
    assert slurm_job_port('4242') != slurm_job_port('14242')
    ports = [slurm_job_port(str(job)) for job in range(123456, 142956)]
    assert len(set(ports)) == len(ports)  # 19500 jobs in a row: no clash
    assert 10000 <= min(ports) and max(ports) < 29500
    assert slurm_job_port('') == 29500


def test_a_rank_whose_launcher_dies_is_stopped_as_torchrun_would(
        monkeypatch):
    """SIGTERM (the hook saves and stops) once the parent is no longer the
    launcher, SIGKILL after torchrun's grace period."""
    parents, done = iter([700, 700, 1]), []
    monkeypatch.setattr(os, 'getppid', lambda: next(parents))
    monkeypatch.setattr(os, 'kill', lambda pid, sig: done.append(sig))
    monkeypatch.setattr(dist.time, 'sleep', done.append)
    dist._end_after(700, grace=30, interval=0.5)
    assert done == [0.5, 0.5, signal.SIGTERM, 30, signal.SIGKILL]


@pytest.mark.parametrize('named', [True, False])
def test_the_launcher_is_the_one_dist_train_sh_names(monkeypatch, named):
    """A launcher killed while the rank started would be missed by a rank
    that took its parent then for the launcher."""
    watched, started = [], threading.Event()

    def watch(launcher, *args):
        watched.append(launcher)
        started.set()

    monkeypatch.setattr(dist, '_end_after', watch)
    if named:
        monkeypatch.setenv(dist.LAUNCHER_PID_ENV, '4321')
    else:
        monkeypatch.delenv(dist.LAUNCHER_PID_ENV, raising=False)
    end_with_launcher()
    assert started.wait(10)
    assert watched == [4321 if named else os.getppid()]


def test_slurm_with_cuda_never_reaches_mmengines_shell(monkeypatch,
                                                       tmp_path):
    """mmengine's own SLURM path would run ``scontrol show hostname
    {SLURM_NODELIST}`` through a shell: with CUDA the launcher handed to
    mmengine becomes ``pytorch`` over variables filled without a shell."""
    hostile = f'x; touch {tmp_path / "owned"} #'
    _slurm_env(monkeypatch, tmp_path, hostile, 'echo node7\n')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = Config(dict(launcher='slurm'))
    assert setup_cpu_distributed(cfg, 'slurm') is False
    assert cfg.launcher == 'pytorch'
    assert (os.environ['RANK'], os.environ['WORLD_SIZE'],
            os.environ['MASTER_ADDR']) == ('0', '2', 'node7')
    assert not (tmp_path / 'owned').exists()


@pytest.mark.parametrize('scontrol,node_list,message', [
    (None, 'node[1-2]', 'scontrol is not on PATH'),
    ('echo "invalid hostlist" >&2\nexit 1\n', 'node[1-',
     r'scontrol show hostnames node\[1- failed \(exit 1\): invalid'),
    ('exit 0\n', 'node1', 'no host printed'),
    ('echo node1\n', '', 'needs SLURM_NODELIST'),
])
def test_slurm_master_address_failures_are_named(monkeypatch, tmp_path,
                                                 scontrol, node_list,
                                                 message):
    _slurm_env(monkeypatch, tmp_path, node_list, scontrol)
    with pytest.raises(RuntimeError, match=message):
        _export_torch_env('slurm')
