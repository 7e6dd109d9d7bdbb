"""Layer-wise lr decay in the detection and segmentation transfer recipes
of Conditional MAE: the parameter groups the optimizer gets."""
import os.path as osp
import re

import pytest
from mmengine.optim import build_optim_wrapper

from tests.conftest import REPO, read_recipe
from tests.test_configs import build_uninitialised

TRANSFER = osp.join(REPO, 'configs', 'conditional_mae', 'transfer')


def vit_depth(name, num_layers):
    """Our reading of the rule: the embeddings (patch, cls token, position)
    at depth 0, block i at i + 1, everything else, in the backbone or not,
    at num_layers + 1."""
    if not name.startswith('backbone.'):
        return num_layers + 1
    name = name[len('backbone.'):]
    if name.split('.')[0] in ('patch_embed', 'cls_token', 'pos_embed'):
        return 0
    block = re.match(r'layers\.(\d+)\.', name)
    return int(block.group(1)) + 1 if block else num_layers + 1


@pytest.mark.parametrize('name, decay', [
    ('vit-b16_L0-10_in100_coco_maskrcnn.py', 0.75),
    ('vit-b16_L0-10_in100_ade20k_upernet.py', 0.65),
])
def test_every_vit_parameter_gets_its_depths_decayed_lr(name, decay):
    cfg = read_recipe(osp.join(TRANSFER, name))
    model = build_uninitialised(cfg)
    # (mmengine adds a group of one zero tensor that logs the base lr)
    groups = [
        group for group in build_optim_wrapper(
            model, cfg.optim_wrapper).param_groups if 'param_name' in group
    ]
    base_lr, base_wd = (cfg.optim_wrapper.optimizer.lr,
                        cfg.optim_wrapper.optimizer.weight_decay)
    params = dict(model.named_parameters())
    assert sorted(g['param_name'] for g in groups) == sorted(params)
    num_layers = 12
    seen_depths = set()
    for group in groups:
        name, param = group['param_name'], group['params'][0]
        depth = vit_depth(name, num_layers)
        seen_depths.add(depth)
        assert group['lr'] == pytest.approx(
            base_lr * decay**(num_layers + 1 - depth)), name
        # no decay on norms, biases, cls token and position embedding (in
        # these models exactly the parameters of fewer than 2 dimensions,
        # and the two embeddings)
        expected_wd = base_wd if (param.ndim > 1 and not name.endswith(
            ('cls_token', 'pos_embed'))) else 0.0
        assert group['weight_decay'] == expected_wd, name
    assert seen_depths == set(range(num_layers + 2))
    # the neck and heads, and the backbone's embeddings, as named
    lrs = {group['param_name']: group['lr'] for group in groups}
    assert lrs['backbone.patch_embed.projection.weight'] == pytest.approx(
        base_lr * decay**13)
    assert lrs['backbone.layers.11.ffn.layers.1.weight'] == pytest.approx(
        base_lr * decay)
    assert all(lr == base_lr for key, lr in lrs.items()
               if not key.startswith('backbone.'))


def test_a_model_without_a_layered_backbone_is_refused():
    from mmmaskreuse.engine import BackboneLayerDecayOptimWrapperConstructor
    from torch import nn

    class Detector(nn.Module):

        def __init__(self):
            super().__init__()
            self.backbone = nn.Conv2d(3, 4, 3)

    constructor = BackboneLayerDecayOptimWrapperConstructor(
        dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3)),
        dict(layer_decay_rate=0.5))
    with pytest.raises(TypeError, match='backbone of Detector is Conv2d'):
        constructor(Detector())
