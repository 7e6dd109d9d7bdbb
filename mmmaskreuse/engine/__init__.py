from .checkpoint import (TRUST_ENV, WeightMismatch,  # re-registers the loader
                         load_checked, weight_mismatch)
from .dist import (CPUDistributedDataParallel, close_distributed,
                   setup_cpu_distributed)
from .hooks import (CheckFrozenReuseHook, CheckPretrainedWeightsHook,
                    StopOnInvalidLossHook)
from .loops import ResumableEpochBasedTrainLoop
from .optimizers import BackboneLayerDecayOptimWrapperConstructor
from .launch import (build_model, check_dataset_paths, load_config,
                     set_work_dir)
from .saving import (AtomicLocalBackend, SafeCheckpointHook,
                     checkpoint_to_resume)

__all__ = [
    'TRUST_ENV', 'WeightMismatch', 'weight_mismatch', 'load_checked',
    'CPUDistributedDataParallel', 'setup_cpu_distributed',
    'close_distributed', 'StopOnInvalidLossHook', 'CheckFrozenReuseHook',
    'CheckPretrainedWeightsHook', 'BackboneLayerDecayOptimWrapperConstructor',
    'ResumableEpochBasedTrainLoop', 'build_model', 'check_dataset_paths',
    'load_config', 'set_work_dir',
    'AtomicLocalBackend', 'SafeCheckpointHook', 'checkpoint_to_resume'
]
