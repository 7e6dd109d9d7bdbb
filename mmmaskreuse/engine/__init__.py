from . import checkpoint  # noqa: F401  (re-registers the local loader)
from .dist import CPUDistributedDataParallel, setup_cpu_distributed
from .launch import (build_model, check_dataset_paths, load_config,
                     set_work_dir)

__all__ = [
    'CPUDistributedDataParallel', 'setup_cpu_distributed',
    'build_model', 'check_dataset_paths', 'load_config', 'set_work_dir'
]
