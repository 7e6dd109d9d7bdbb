"""Distributed training without CUDA (gloo on CPU).

mmengine 0.10.7 assumes an accelerator in two places: ``init_dist`` calls
``torch.cuda.set_device`` and ``Runner.wrap_model`` hands
``device_ids=[LOCAL_RANK]`` to DDP, which rejects both on a CPU-only machine.
The tools call :func:`setup_cpu_distributed` before building the Runner: it
opens the gloo process group itself (so mmengine skips ``init_dist``) and
points ``model_wrapper_cfg`` at :class:`CPUDistributedDataParallel`, which
drops ``device_ids``. With CUDA, only ``--launcher slurm`` changes: mmengine's
SLURM path runs ``scontrol`` through a shell with ``SLURM_NODELIST`` pasted
in, so the tools fill torch's variables themselves (no shell) and hand
mmengine the ``pytorch`` launcher.

torchrun starts each rank in a session of its own: a kill of torchrun, or
of its process group, never reaches the ranks. Under ``--launcher pytorch``
``tools/train.py`` calls :func:`end_with_launcher`, so a rank stops as
torchrun would have stopped it.
"""
import os
import signal
import subprocess
import threading
import time

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm

from mmmaskreuse.registry import MODEL_WRAPPERS

#: the launcher's pid, set by ``tools/misc/resumable_torchrun.py``
LAUNCHER_PID_ENV = 'MMMASKREUSE_LAUNCHER_PID'
#: where ranks that saved and stopped on a signal tell that launcher so
STOP_RECORD_ENV = 'MMMASKREUSE_STOP_RECORD'

# a job's MASTER_PORT: below Linux's ephemeral ports (32768-60999, from
# which any outgoing connection on the node may take one), below torch's
# default 29500 (dist_train.sh across nodes), above the ports < 10000 where
# services usually listen; jobs whose ids differ by less than 19500 differ
_SLURM_PORTS = (10000, 29500)

# launcher -> environment variables holding (rank, world size, local rank)
_LAUNCHER_RANK_ENV = {
    'pytorch': ('RANK', 'WORLD_SIZE', 'LOCAL_RANK'),
    'slurm': ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_LOCALID'),
    'mpi': ('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
            'OMPI_COMM_WORLD_LOCAL_RANK'),
}


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for modules that live on the CPU.

    ``device_ids`` given by the Runner are ignored (DDP requires None for CPU
    modules). SyncBN layers are reverted to plain BN, because torch's
    SyncBatchNorm only runs on accelerators; each process then normalises
    with its own batch statistics and keeps its own running statistics
    (buffers are not broadcast, as in mmengine's default wrapper). So that a
    validation or test scores the model a checkpoint saves (rank 0's), the
    first ``val_step`` / ``test_step`` after training gives every process
    rank 0's buffers.

    Args:
        module (nn.Module): Model to wrap.
        device_ids (list, optional): Ignored. Defaults to None.
        **kwargs: Passed to ``MMDistributedDataParallel``.
    """

    def __init__(self, module, device_ids=None, **kwargs):
        super().__init__(
            module=revert_sync_batchnorm(module), device_ids=None, **kwargs)
        self._buffers_from_rank0 = False

    def train_step(self, data, optim_wrapper):
        self._buffers_from_rank0 = False
        return super().train_step(data, optim_wrapper)

    def val_step(self, data):
        self._take_rank0_buffers()
        return super().val_step(data)

    def test_step(self, data):
        self._take_rank0_buffers()
        return super().test_step(data)

    def _take_rank0_buffers(self) -> None:
        if not self._buffers_from_rank0:
            for buffer in self.module.buffers():
                torch_dist.broadcast(buffer, src=0)
            self._buffers_from_rank0 = True


def _export_torch_env(launcher: str) -> None:
    """Fill torch's env:// variables from those of ``launcher``."""
    rank_env = _LAUNCHER_RANK_ENV[launcher]
    missing = [name for name in rank_env if name not in os.environ]
    if missing:
        raise RuntimeError(
            f'--launcher {launcher} expects the environment variables '
            f'{missing}; start the job with the matching launcher '
            '(tools/dist_train.sh uses torchrun, i.e. --launcher pytorch)')
    for torch_name, name in zip(_LAUNCHER_RANK_ENV['pytorch'], rank_env):
        os.environ[torch_name] = os.environ[name]
    if 'MASTER_ADDR' not in os.environ:
        if launcher != 'slurm':
            raise RuntimeError(f'--launcher {launcher} needs MASTER_ADDR')
        os.environ['MASTER_ADDR'] = _slurm_first_host()
    os.environ.setdefault('MASTER_PORT', str(
        slurm_job_port(os.environ.get('SLURM_JOB_ID', ''))
        if launcher == 'slurm' else 29500))


def slurm_job_port(job_id: str) -> int:
    """The ``MASTER_PORT`` of a SLURM job: two jobs sharing a node get
    different ports, in ``[10000, 29500)``, clear of the node's ephemeral
    ports.

    Args:
        job_id (str): ``SLURM_JOB_ID``; not a number: 29500, torch's port.

    Returns:
        int: The port.
    """
    if not job_id.isdigit():
        return 29500
    low, high = _SLURM_PORTS
    return low + int(job_id) % (high - low)


def _slurm_first_host() -> str:
    """The first host of ``SLURM_NODELIST``, from ``scontrol show
    hostnames`` run without a shell (the node list is one argument, never
    shell code)."""
    node_list = os.environ.get('SLURM_NODELIST')
    if not node_list:
        raise RuntimeError('--launcher slurm needs SLURM_NODELIST (srun sets '
                           'it) or MASTER_ADDR')
    command = ['scontrol', 'show', 'hostnames', node_list]
    try:
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=60)
    except FileNotFoundError:
        raise RuntimeError('--launcher slurm: scontrol is not on PATH to '
                           f'resolve SLURM_NODELIST={node_list!r}; set '
                           'MASTER_ADDR') from None
    hosts = result.stdout.split()
    if result.returncode != 0 or not hosts:
        raise RuntimeError(
            f'{" ".join(command)} failed (exit {result.returncode}): '
            f'{result.stderr.strip() or "no host printed"}; set MASTER_ADDR')
    return hosts[0]


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Prepare distributed CPU training; a no-op where CUDA is available.

    Args:
        cfg (Config): The config; its ``model_wrapper_cfg`` is set to
            :class:`CPUDistributedDataParallel`, keeping the user's other
            wrapper arguments.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        bool: True if a gloo process group was opened.
    """
    if launcher == 'slurm' and torch.cuda.is_available():
        _export_torch_env(launcher)
        cfg.launcher = 'pytorch'  # mmengine reads the variables just set
        return False
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher not in _LAUNCHER_RANK_ENV:
        raise ValueError(f'unknown launcher {launcher!r}, expected one of '
                         f"{['none', *_LAUNCHER_RANK_ENV]}")
    _export_torch_env(launcher)
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend='gloo')
    wrapper_cfg = dict(cfg.get('model_wrapper_cfg') or {})
    if wrapper_cfg.get('type', 'MMDistributedDataParallel') not in (
            'MMDistributedDataParallel',
            'mmmaskreuse.CPUDistributedDataParallel'):
        raise ValueError(
            f"model_wrapper_cfg.type={wrapper_cfg['type']!r} cannot run on "
            'CPU; use a machine with CUDA or the default wrapper')
    wrapper_cfg['type'] = 'mmmaskreuse.CPUDistributedDataParallel'
    wrapper_cfg.setdefault('broadcast_buffers', False)
    wrapper_cfg.setdefault('find_unused_parameters',
                           cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper_cfg
    return True


def end_with_launcher(grace: float = 30.0, interval: float = 0.5) -> None:
    """Stop this rank as its launcher would, should the launcher die.

    A daemon thread watches the parent process: once it is gone (the rank
    is re-parented) it sends this process SIGTERM, which
    :class:`SafeCheckpointHook` turns into a checkpoint at the end of the
    running iteration and an exit (before training it ends the process);
    a rank still alive ``grace`` seconds later is killed, as torchrun kills
    a rank that outlives its SIGTERM. Loader workers end with their rank.

    The launcher is the process ``MMMASKREUSE_LAUNCHER_PID`` names
    (``dist_train.sh`` sets it), else the parent when this is called: a
    launcher killed before this rank got here is then seen at once.

    Args:
        grace (float): Seconds from the SIGTERM to the SIGKILL.
            Defaults to 30.0 (torchrun's).
        interval (float): Seconds between two looks at the parent.
            Defaults to 0.5.
    """
    launcher = int(os.environ.get(LAUNCHER_PID_ENV) or os.getppid())
    threading.Thread(
        target=_end_after, args=(launcher, grace, interval),
        name='end-with-launcher', daemon=True).start()


def _end_after(launcher: int, grace: float, interval: float) -> None:
    while os.getppid() == launcher:
        time.sleep(interval)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(grace)
    os.kill(os.getpid(), signal.SIGKILL)


def close_distributed() -> None:
    """Destroy the default process group, if any, before the process exits:
    left to interpreter shutdown, gloo's threads can outlive it and abort the
    process (``terminate called without an active exception``) after the
    work is done."""
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.destroy_process_group()
