"""Reuse dropout and ``reuse_at_test='drop'``: a sample without its reuse
features goes through the plain upstream backbone, bit for bit."""
import copy

import pytest
import torch
from mmpretrain.models.backbones import (ConvNeXt, EfficientNetV2, ResNet,
                                         VisionTransformer)

from mmmaskreuse.masking import MaskedInputs, MaskReuse
from mmmaskreuse.models import (MaskConvNeXt, MaskEfficientNetV2, MaskResNet,
                                MaskViT)
from mmmaskreuse.models.backbones.fusion import draw_reuse_keep

TINY_VIT = dict(arch=dict(embed_dims=32, num_layers=2, num_heads=2,
                          feedforward_channels=64),
                img_size=32, patch_size=16)
TINY_CONVNEXT = dict(arch=dict(depths=[1, 1, 1, 1],
                               channels=[16, 32, 64, 128]))


def trained_looking(model):
    """``model`` with its residual alignment's last norm away from zero,
    as after training: with the zero init the branch adds nothing and a
    dropped sample would equal a kept one anyway."""
    last = model.reuse_fusion.alignment
    if last is not None:
        torch.nn.init.normal_(last.layers[-1].norm.weight)
    return model


def pair_and_trunk(kind, fusion, **kwargs):
    """A MaskAnyNet backbone and its upstream trunk with the same weights
    (trunk BNs in eval mode: each sample's output is its own)."""
    torch.manual_seed(0)
    if kind == 'resnet':
        model = MaskResNet(18, fusion=fusion, norm_eval=True, **kwargs)
        trunk = ResNet(18, norm_eval=True)
    elif kind == 'vit':
        model = MaskViT(fusion=fusion, **TINY_VIT, **kwargs)
        trunk = VisionTransformer(**TINY_VIT)
    elif kind == 'efficientnet':
        # arch 'tiny': the tiny_efficientnet_v2 fixture
        model = MaskEfficientNetV2(arch='tiny', fusion=fusion,
                                   norm_eval=True, **kwargs)
        trunk = EfficientNetV2(arch='tiny', norm_eval=True)
    else:
        model = MaskConvNeXt(fusion=fusion, **TINY_CONVNEXT, **kwargs)
        trunk = ConvNeXt(**TINY_CONVNEXT)
    model.init_weights()
    trained_looking(model)
    result = trunk.load_state_dict(model.state_dict(), strict=False)
    assert all(k.startswith('reuse_') for k in result.unexpected_keys)
    assert result.missing_keys == []
    return model, trunk


def masked_pair(num):
    """``num`` random 32-px images, masked on 2 x 2 cells."""
    return MaskReuse(dict(type='CombinedMask', mask_ratio=0.25,
                          grid_size=(2, 2)))(torch.randn(num, 3, 32, 32))


def next_keep(num, prob, seed):
    """The reuse dropout draw of a backbone's next forward, which follows
    ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    keep = draw_reuse_keep(num, prob, torch.device('cpu'))
    torch.manual_seed(seed)
    return keep


@pytest.mark.parametrize('kind,fusion', [('resnet', 'residual'),
                                         ('vit', 'add'),
                                         ('convnext', 'residual'),
                                         ('efficientnet', 'add')])
def test_a_dropped_sample_is_exactly_the_primary_path(kind, fusion,
                                                      tiny_efficientnet_v2):
    model, trunk = pair_and_trunk(kind, fusion, reuse_drop_prob=0.3)
    model.train()
    trunk.train()
    pair = masked_pair(64)
    keep = next_keep(64, 0.3, seed=1)
    with torch.no_grad():
        ours = model(pair)[-1]
        theirs = trunk(pair.masked_image)[-1]
    ours, theirs = ours.flatten(1), theirs.flatten(1)
    same = (ours == theirs).all(1)
    assert torch.equal(same, ~keep)  # dropped: bit for bit the trunk
    differs = (ours - theirs).abs().amax(1)[keep]
    assert differs.min() > 1e-4  # kept: the branch changes them
    assert abs((~keep).float().mean() - 0.3) < 0.15


def reuse_norms(model):
    """The BatchNorms of the reuse branch and the fusion, by name."""
    return {
        name: module
        for name, module in model.named_modules()
        if name.startswith('reuse_')
        and isinstance(module, torch.nn.modules.batchnorm._BatchNorm)
    }


@pytest.mark.parametrize('kind', ['resnet', 'convnext'])
def test_the_fusion_never_sees_a_dropped_sample(kind):
    """A dropped sample's input gradient is the trunk's, and the
    alignment's BatchNorm statistics are those of the kept samples run
    alone: no dropped sample enters the fusion's batch statistics."""
    model, trunk = pair_and_trunk(kind, 'residual', reuse_drop_prob=0.5)
    alone = copy.deepcopy(model)
    alone.reuse_drop_prob = 0.
    for module in (model, trunk, alone):
        module.train()
    pair = masked_pair(8)
    keep = next_keep(8, 0.5, seed=3)
    assert 0 < keep.sum() < len(keep)
    masked = pair.masked_image.clone().requires_grad_()
    plain = pair.masked_image.clone().requires_grad_()
    ours = model(pair._replace(masked_image=masked))[-1]
    weights = torch.randn_like(ours)
    (ours * weights).sum().backward()
    (trunk(plain)[-1] * weights).sum().backward()
    assert masked.grad[~keep].abs().sum() > 0
    torch.testing.assert_close(masked.grad[~keep], plain.grad[~keep],
                               rtol=1e-5, atol=1e-7)
    with torch.no_grad():
        alone(MaskedInputs(*(t[keep] for t in pair)))
    norms, norms_alone = reuse_norms(model), reuse_norms(alone)
    assert 'reuse_fusion.alignment.layers.0.bn' in norms
    for name, norm in norms.items():
        assert int(norm.num_batches_tracked) == 1
        torch.testing.assert_close(norm.running_mean,
                                   norms_alone[name].running_mean)
        torch.testing.assert_close(norm.running_var,
                                   norms_alone[name].running_var)


@pytest.mark.parametrize('kept', [False, True])
def test_reuse_dropout_of_every_sample_or_none(kept, monkeypatch):
    """Every sample dropped: the trunk exactly, the fusion's statistics
    untouched, and still a (zero) gradient for every reuse parameter, as
    DistributedDataParallel waits for one. None dropped: the model without
    reuse dropout."""
    model, trunk = pair_and_trunk('resnet', 'residual', reuse_drop_prob=0.5)
    without = copy.deepcopy(model)
    without.reuse_drop_prob = 0.
    monkeypatch.setattr(
        'mmmaskreuse.models.backbones.maskanynet_base.draw_reuse_keep',
        lambda size, prob, device: torch.full((size, ), kept))
    for module in (model, trunk, without):
        module.train()
    pair = masked_pair(4)
    ours = model(pair)[-1]
    ours.sum().backward()
    theirs = (without if kept else trunk)(
        pair if kept else pair.masked_image)[-1]
    assert torch.equal(ours, theirs)
    for name, param in model.named_parameters():
        if name.startswith('reuse_'):
            assert param.grad is not None, name
            assert (param.grad.abs().sum() > 0) == kept, name
    for name, norm in reuse_norms(model).items():
        assert int(norm.num_batches_tracked) == int(kept), name


def test_reuse_drop_prob_is_the_fraction_dropped():
    torch.manual_seed(0)
    for prob in (0.1, 0.5, 0.8):
        keep = draw_reuse_keep(200_000, prob, torch.device('cpu'))
        assert keep.dtype == torch.bool
        assert abs((~keep).float().mean().item() - prob) < 0.005
    assert draw_reuse_keep(1000, 0., torch.device('cpu')).all()


def test_no_reuse_dropout_outside_training():
    model, _ = pair_and_trunk('vit', 'residual', reuse_drop_prob=0.5)
    model.eval()
    images = torch.randn(8, 3, 32, 32)
    with torch.no_grad():
        first, second = model(images)[-1], model(images)[-1]
    model.reuse_at_test = 'drop'
    with torch.no_grad():
        dropped = model(images)[-1]
    assert torch.equal(first, second)
    assert not torch.isclose(first, dropped).flatten(1).all(1).any()


@pytest.mark.parametrize('kind', ['resnet', 'vit', 'convnext', 'efficientnet'])
def test_reuse_at_test_drop_is_the_upstream_backbone(kind,
                                                     tiny_efficientnet_v2):
    """``'drop'`` is the trunk exactly and never runs the reuse modules;
    ``'off'`` (zero reuse features through the alignment) is not, for
    ``residual`` once the alignment learned."""
    model, trunk = pair_and_trunk(kind, 'residual', reuse_at_test='drop')
    calls = []
    for name in model.reuse_modules:
        getattr(model, name).register_forward_hook(
            lambda *args: calls.append(1))
    model.eval()
    trunk.eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        for ours, theirs in zip(model(images), trunk(images)):
            assert torch.equal(ours, theirs)
        assert calls == []
        model.reuse_at_test = 'off'
        off = model(images)[-1]
    assert not torch.allclose(off, theirs)


@pytest.mark.parametrize('kwargs,match', [
    (dict(fusion='residual', reuse_drop_prob=1.0),
     r'reuse_drop_prob must be in \[0, 1\), got 1.0'),
    (dict(fusion='residual', reuse_drop_prob=-0.1),
     r'reuse_drop_prob must be in \[0, 1\), got -0.1'),
    (dict(fusion='residual', reuse_drop_prob='0.5'),
     r"reuse_drop_prob must be in \[0, 1\), got '0.5'"),
    (dict(fusion='concat', reuse_drop_prob=0.5),
     r"reuse_drop_prob=0.5 .*\('residual', 'add'\), got fusion='concat'"),
    (dict(fusion='image', reuse_drop_prob=0.5), "fusion='image'"),
    (dict(fusion='decision', reuse_at_test='drop'),
     r"reuse_at_test='drop' .*got fusion='decision'"),
    (dict(fusion='concat', reuse_at_test='drop'), "fusion='concat'"),
])
def test_reuse_dropout_arguments_fail_at_build(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MaskResNet(18, **kwargs)
    if kwargs['fusion'] in ('concat', 'residual'):
        with pytest.raises(ValueError, match=match):
            MaskViT(**TINY_VIT, **kwargs)
        with pytest.raises(ValueError, match=match):
            MaskConvNeXt(**TINY_CONVNEXT, **kwargs)
        with pytest.raises(ValueError, match=match):
            MaskEfficientNetV2(arch='b0', **kwargs)


@pytest.mark.parametrize('upstream,ours,kwargs', [
    (ConvNeXt, MaskConvNeXt, dict(TINY_CONVNEXT, out_indices=(0, 1, 2, 3))),
    (EfficientNetV2, MaskEfficientNetV2, dict(arch='tiny',
                                              out_indices=(0, 1, 2, 3, 4))),
])
def test_untrained_stem_fusions_are_the_upstream_backbone(
        upstream, ours, kwargs, tiny_efficientnet_v2):
    """With masking off (a plain image) and the branch off (``add``) or
    untrained (``residual``: its last norm starts at zero), MaskConvNeXt
    and MaskEfficientNetV2 are mmpretrain's ConvNeXt and EfficientNetV2
    from the same weights; an upstream checkpoint loads into the primary
    path."""
    torch.manual_seed(0)
    trunk = upstream(**kwargs)
    trunk.eval()  # upstream's train() returns None
    images = torch.randn(2, 3, 32, 32)
    for fusion, reuse_at_test in (('add', 'off'), ('residual', 'downsample')):
        model = ours(**kwargs, fusion=fusion, reuse_at_test=reuse_at_test)
        model.init_weights()
        result = model.load_state_dict(trunk.state_dict(), strict=False)
        assert result.unexpected_keys == []
        assert all(k.startswith('reuse_') for k in result.missing_keys)
        model.eval()
        with torch.no_grad():
            for ours_out, theirs in zip(model(images), trunk(images)):
                assert torch.equal(ours_out, theirs)
