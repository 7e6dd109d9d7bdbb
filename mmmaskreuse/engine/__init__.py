from .checkpoint import (TRUST_ENV, WeightMismatch,  # re-registers the loader
                         load_checked, weight_mismatch)
from .dist import (CPUDistributedDataParallel, close_distributed,
                   end_with_launcher, setup_cpu_distributed)
from .hooks import (CheckFrozenReuseHook, CheckPretrainedWeightsHook,
                    StopOnInvalidLossHook)
from .loops import ResumableEpochBasedTrainLoop
from .optimizers import BackboneLayerDecayOptimWrapperConstructor
from .random_states import RandomStatesHook
from .launch import (build_model, check_dataset_paths, load_config,
                     set_work_dir)
from .saving import (AtomicLocalBackend, NoRoomError, SafeCheckpointHook,
                     checkpoint_to_resume)

__all__ = [
    'TRUST_ENV', 'WeightMismatch', 'weight_mismatch', 'load_checked',
    'CPUDistributedDataParallel', 'setup_cpu_distributed',
    'close_distributed', 'end_with_launcher', 'StopOnInvalidLossHook',
    'CheckFrozenReuseHook',
    'CheckPretrainedWeightsHook', 'BackboneLayerDecayOptimWrapperConstructor',
    'ResumableEpochBasedTrainLoop', 'RandomStatesHook', 'build_model',
    'check_dataset_paths', 'load_config', 'set_work_dir',
    'AtomicLocalBackend', 'NoRoomError', 'SafeCheckpointHook',
    'checkpoint_to_resume'
]
