import torch.nn as nn
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import DefaultScope

from mmmaskreuse import registry


def test_every_registry_is_an_mmengine_child_in_our_scope():
    registries = [value for name, value in vars(registry).items()
                  if isinstance(value, type(registry.MODELS))
                  and not name.startswith('MMENGINE_')
                  and value is not registry.MASK_GENERATORS]
    assert len(registries) >= 20
    for child in registries:
        assert child.scope == 'mmmaskreuse'
        assert child.parent is not None
        assert child.parent.scope == 'mmengine'
        assert child.parent._children['mmmaskreuse'] is child


def test_upstream_scopes_build_our_modules_by_prefix():
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmseg.registry import MODELS as MMSEG_MODELS

    class _ToyNet(nn.Module):
        pass

    registry.MODELS.register_module(module=_ToyNet)
    try:
        for scope, models in (('mmdet', MMDET_MODELS),
                              ('mmseg', MMSEG_MODELS),
                              ('mmengine', MMENGINE_MODELS)):
            with DefaultScope.overwrite_default_scope(scope):
                assert isinstance(
                    models.build(dict(type='mmmaskreuse._ToyNet')), _ToyNet)
    finally:
        registry.MODELS._module_dict.pop('_ToyNet')


def test_our_scope_still_finds_mmengine_modules():
    with DefaultScope.overwrite_default_scope('mmmaskreuse'):
        wrapper = registry.MODEL_WRAPPERS.get('CPUDistributedDataParallel')
        assert wrapper.__name__ == 'CPUDistributedDataParallel'
        assert registry.MODELS.get('BaseDataPreprocessor') is not None
