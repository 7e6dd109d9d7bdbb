"""Registries of the ``mmmaskreuse`` scope.

Every registry is a child of mmengine's root registry of the same kind, so
configs of mmpretrain, mmdet and mmseg reach our modules with
``custom_imports=dict(imports=['mmmaskreuse'])`` and ``type='mmmaskreuse.X'``,
and our configs (``default_scope='mmmaskreuse'``) still find every mmengine
module.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import \
    RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

SCOPE = 'mmmaskreuse'


def _child(name: str, parent: Registry, *locations: str) -> Registry:
    # ``locations`` are imported lazily the first time the registry is
    # searched, so building from a config never needs a manual import.
    return Registry(
        name, parent=parent, scope=SCOPE, locations=list(locations))


RUNNERS = _child('runner', MMENGINE_RUNNERS, 'mmmaskreuse.engine')
RUNNER_CONSTRUCTORS = _child('runner constructor',
                             MMENGINE_RUNNER_CONSTRUCTORS,
                             'mmmaskreuse.engine')
LOOPS = _child('loop', MMENGINE_LOOPS, 'mmmaskreuse.engine')
HOOKS = _child('hook', MMENGINE_HOOKS, 'mmmaskreuse.engine')
LOG_PROCESSORS = _child('log processor', MMENGINE_LOG_PROCESSORS,
                        'mmmaskreuse.engine')
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS, 'mmmaskreuse.engine')
OPTIM_WRAPPERS = _child('optim wrapper', MMENGINE_OPTIM_WRAPPERS,
                        'mmmaskreuse.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
                                    'mmmaskreuse.engine')
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS,
                          'mmmaskreuse.engine')
DATASETS = _child('dataset', MMENGINE_DATASETS, 'mmmaskreuse.datasets')
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS,
                       'mmmaskreuse.datasets')
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS, 'mmmaskreuse.datasets')
MODELS = _child('model', MMENGINE_MODELS, 'mmmaskreuse.models')
MODEL_WRAPPERS = _child('model wrapper', MMENGINE_MODEL_WRAPPERS,
                        'mmmaskreuse.engine')
WEIGHT_INITIALIZERS = _child('weight initializer',
                             MMENGINE_WEIGHT_INITIALIZERS)
TASK_UTILS = _child('task util', MMENGINE_TASK_UTILS)
METRICS = _child('metric', MMENGINE_METRICS)
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR)
VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS)
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS)

# Registries with no mmengine counterpart
MASK_GENERATORS = Registry(
    'mask generator', scope=SCOPE, locations=['mmmaskreuse.masking'])
