from .checkpoint import TRUST_ENV, missing_weights  # re-registers the loader
from .dist import (CPUDistributedDataParallel, close_distributed,
                   setup_cpu_distributed)
from .hooks import CheckPretrainedWeightsHook, StopOnInvalidLossHook
from .loops import ResumableEpochBasedTrainLoop
from .optimizers import BackboneLayerDecayOptimWrapperConstructor
from .random_states import RandomStatesHook
from .launch import (build_model, check_dataset_paths, load_config,
                     set_work_dir)
from .saving import (AtomicLocalBackend, SafeCheckpointHook,
                     checkpoint_to_resume)

__all__ = [
    'TRUST_ENV', 'missing_weights', 'CPUDistributedDataParallel',
    'setup_cpu_distributed', 'close_distributed', 'StopOnInvalidLossHook',
    'CheckPretrainedWeightsHook', 'BackboneLayerDecayOptimWrapperConstructor',
    'ResumableEpochBasedTrainLoop', 'RandomStatesHook', 'build_model',
    'check_dataset_paths', 'load_config', 'set_work_dir',
    'AtomicLocalBackend', 'SafeCheckpointHook', 'checkpoint_to_resume'
]
