"""Layer-wise lr decay for any model whose backbone has ``get_layer_depth``.

mmpretrain's :class:`LearningRateDecayOptimWrapperConstructor` holds the
decay rule but asks the *whole model* for ``get_layer_depth``, which only
its classifiers have; mmdet's constructor of the same purpose knows only
ConvNeXt and mmseg's keys off the backbone's class name. The subclass here
keeps mmpretrain's rule and parameter grouping and only tells it where the
depths come from: the model's ``backbone``.
"""
from functools import partial
from typing import Callable, List, Optional

from mmpretrain.engine.optimizers import \
    LearningRateDecayOptimWrapperConstructor
from torch import nn

from mmmaskreuse.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class BackboneLayerDecayOptimWrapperConstructor(
        LearningRateDecayOptimWrapperConstructor):
    """mmpretrain's layer-wise lr decay for detectors, segmentors or any
    model with a ``backbone`` that has ``get_layer_depth`` (mmpretrain's
    ``VisionTransformer``, ``SwinTransformer``, ``ConvNeXt`` ...).

    A parameter at depth ``d`` of a backbone with ``n`` depths (mmpretrain's
    ViT: ``n = num_layers + 2``; patch embedding, cls token and position
    embedding at 0, block ``i`` at ``i + 1``, the rest at ``n - 1``) gets
    ``lr = base_lr * layer_decay_rate ** (n - 1 - d)``; parameters outside
    the backbone (neck, heads) get depth ``n - 1``: the base lr. Weight decay
    follows ``paramwise_cfg`` as in mmpretrain (``custom_keys``,
    ``norm_decay_mult``, ``bias_decay_mult``, ``flat_decay_mult``).

    Example:
        >>> optim_wrapper = dict(
        >>>     optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05),
        >>>     constructor='mmmaskreuse.'
        >>>     'BackboneLayerDecayOptimWrapperConstructor',
        >>>     paramwise_cfg=dict(layer_decay_rate=0.75, custom_keys={
        >>>         '.bias': dict(decay_mult=0.0)}))
    """

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   get_layer_depth: Optional[Callable] = None,
                   **kwargs) -> None:
        if get_layer_depth is None:
            backbone = getattr(module, 'backbone', None)
            if not hasattr(backbone, 'get_layer_depth'):
                raise TypeError(
                    f'{type(self).__name__} needs a model whose backbone '
                    'has get_layer_depth; the backbone of '
                    f'{type(module).__name__} is {type(backbone).__name__}')
            get_layer_depth = partial(
                backbone.get_layer_depth, prefix=prefix + 'backbone.')
        super().add_params(params, module, prefix, get_layer_depth)
