from .checkpoint import TRUST_ENV, missing_weights  # re-registers the loader
from .dist import (CPUDistributedDataParallel, close_distributed,
                   end_with_launcher, setup_cpu_distributed)
from .hooks import CheckPretrainedWeightsHook, StopOnInvalidLossHook
from .loops import ResumableEpochBasedTrainLoop
from .optimizers import BackboneLayerDecayOptimWrapperConstructor
from .launch import (build_model, check_dataset_paths, load_config,
                     set_work_dir)
from .saving import (AtomicLocalBackend, NoRoomError, SafeCheckpointHook,
                     checkpoint_to_resume)

__all__ = [
    'TRUST_ENV', 'missing_weights', 'CPUDistributedDataParallel',
    'setup_cpu_distributed', 'close_distributed', 'end_with_launcher',
    'StopOnInvalidLossHook',
    'CheckPretrainedWeightsHook', 'BackboneLayerDecayOptimWrapperConstructor',
    'ResumableEpochBasedTrainLoop', 'build_model', 'check_dataset_paths',
    'load_config', 'set_work_dir',
    'AtomicLocalBackend', 'NoRoomError', 'SafeCheckpointHook',
    'checkpoint_to_resume'
]
