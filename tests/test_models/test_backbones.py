import copy

import pytest
import torch
from mmpretrain.models.backbones import (EfficientNetV2, ResNet,
                                         SwinTransformer, VisionTransformer)

from mmmaskreuse.masking import MaskReuse
from mmmaskreuse.models import (FeatureAlignment, MaskEfficientNetV2,
                                MaskResNet, MaskResNetCIFAR, MaskSwin,
                                MaskViT)


def num_params(module):
    return sum(p.numel() for p in module.parameters())


def masked_pair(images):
    return MaskReuse(dict(type='CombinedMask', mask_ratio=0.25))(images)


@pytest.mark.parametrize('depth,fusion,reuse_at_test', [
    (18, 'add', 'off'), (50, 'add', 'off'), (18, 'residual', 'off'),
    (50, 'residual', 'downsample')])
def test_an_untrained_fusion_leaves_mmpretrain_resnet_unchanged(
        depth, fusion, reuse_at_test):
    """``add`` with the branch off, and ``residual`` (its alignment's last
    norm starts at zero) even with the branch on: the upstream ResNet's
    outputs exactly, from its weights."""
    torch.manual_seed(0)
    resnet = ResNet(depth, out_indices=(0, 1, 2, 3))
    resnet.init_weights()
    resnet.eval()
    model = MaskResNet(depth, out_indices=(0, 1, 2, 3), fusion=fusion,
                       reuse_at_test=reuse_at_test)
    model.init_weights()  # ResNet's init_cfg sets every BN scale to 1
    model.eval()
    # an ImageNet ResNet checkpoint loads into the primary path
    result = model.load_state_dict(resnet.state_dict(), strict=False)
    assert result.unexpected_keys == []
    assert all(k.startswith('reuse_') for k in result.missing_keys)
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for ours, theirs in zip(model(images), resnet(images)):
            assert torch.equal(ours, theirs)


def test_decision_level_has_about_twice_the_parameters():
    feature = num_params(MaskResNet(34))
    decision = num_params(MaskResNet(34, fusion='decision'))
    assert 1.9 < decision / feature < 2.1
    # feature-level fusion adds little to a ResNet-34
    assert num_params(MaskResNet(34)) / num_params(ResNet(34)) < 1.01


@pytest.mark.parametrize('fusion,channels', [('concat', 512), ('add', 512),
                                             ('residual', 512),
                                             ('image', 512),
                                             ('decision', 1024)])
def test_resnet_fusions_train_on_pairs_and_test_on_images(fusion, channels):
    model = MaskResNet(18, fusion=fusion)
    images = torch.randn(2, 3, 64, 64)
    model.train()
    out = model(masked_pair(images))
    assert out[-1].shape == (2, channels, 2, 2)
    out[-1].sum().backward()
    model.eval()
    with torch.no_grad():
        assert model(images)[-1].shape == (2, channels, 2, 2)


@pytest.mark.parametrize('fusion',
                         ['concat', 'residual', 'add', 'image', 'decision'])
def test_reuse_branch_is_used(fusion):
    model = MaskResNet(18, fusion=fusion)
    if fusion == 'residual':  # as after some training
        last = model.reuse_fusion.alignment.layers[-1]
        torch.nn.init.normal_(last.bn.weight)
    model.eval()
    pair = masked_pair(torch.randn(2, 3, 64, 64))
    other = pair._replace(reuse_image=torch.randn_like(pair.reuse_image))
    with torch.no_grad():
        assert not torch.allclose(model(pair)[-1], model(other)[-1])


def test_reuse_at_test_off_fuses_zero_reuse_features():
    """The alignment still runs, on zeros in place of the reuse stem's
    features: stage 1 sees what training taught it to see."""
    images = torch.randn(2, 3, 64, 64)
    on = MaskResNet(18)
    on.eval()
    off = MaskResNet(18, reuse_at_test='off')
    off.load_state_dict(on.state_dict())
    off.eval()
    zeros = copy.deepcopy(on)
    zeros.reuse_stem.register_forward_hook(
        lambda module, args, out: torch.zeros_like(out))
    trunk = ResNet(18)
    trunk.load_state_dict(on.state_dict(), strict=False)
    trunk.eval()
    with torch.no_grad():
        # with downsampling the result depends on the reuse branch
        assert not torch.allclose(on(images)[-1], off(images)[-1])
        assert torch.equal(off(images)[-1], zeros(images)[-1])
        # and not the trunk alone: the alignment ran
        assert not torch.allclose(off(images)[-1], trunk(images)[-1])


def test_norm_eval_keeps_training_the_norms_no_checkpoint_trained():
    """mmdet's norm_eval=True freezes every BN; those of a fusion that the
    checkpoint (a plain ResNet) did not hold would stay at mean 0 / var 1."""
    model = MaskResNet(18, norm_eval=True, freeze_reuse=False)
    model.load_state_dict(ResNet(18).state_dict(), strict=False)
    model.train()
    fusion_norms = [m for m in model.reuse_fusion.modules()
                    if isinstance(m, torch.nn.BatchNorm2d)]
    assert fusion_norms and all(m.training for m in fusion_norms)
    # the reuse stem was filled from the stem: frozen as the trunk's
    assert not model.reuse_stem.bn.training and not model.bn1.training
    transferred = MaskResNet(18, norm_eval=True)
    transferred.load_state_dict(model.state_dict())
    transferred.train()
    assert not any(m.training for m in transferred.modules()
                   if isinstance(m, torch.nn.BatchNorm2d))


def test_cifar_variant_keeps_the_32x32_map():
    model = MaskResNetCIFAR(18)
    model.train()
    out = model(masked_pair(torch.randn(2, 3, 32, 32)))
    assert out[-1].shape == (2, 512, 4, 4)
    assert model.reuse_stem.conv.kernel_size == (3, 3)
    assert not hasattr(model, 'maxpool')


def test_training_on_plain_images_names_the_data_preprocessor():
    model = MaskResNet(18)
    model.train()
    with pytest.raises(ValueError, match='MaskReuseClsDataPreprocessor'):
        model(torch.randn(2, 3, 64, 64))


def test_reuse_size_disagreeing_with_mask_ratio_is_an_error():
    model = MaskResNet(18, mask_ratio=0.25)
    model.train()
    pair = MaskReuse(dict(type='PatchMask', mask_ratio=0.0625))(
        torch.randn(2, 3, 64, 64))
    with pytest.raises(ValueError, match='same mask_ratio'):
        model(pair)


def test_reuse_ablation_feeds_the_branch_zeros():
    """What the reuse branch sees in evaluation: the image's own
    downsampled copy, or a zero image (the other image of the ablation is
    the data preprocessor's, tests/test_models/test_pairing.py)."""
    images = torch.randn(3, 3, 64, 64)
    seen = {}
    for setting in ('downsample', 'zeros'):
        model = MaskResNet(18, reuse_at_test=setting).eval()
        model.reuse_stem.register_forward_hook(
            lambda module, args, out, setting=setting: seen.__setitem__(
                setting, args[0]))
        with torch.no_grad():
            model(images)
    own = seen['downsample']
    assert own.shape == (3, 3, 32, 32) and own.abs().sum() > 0
    assert torch.equal(seen['zeros'], torch.zeros_like(own))


@pytest.mark.parametrize('kwargs,match', [
    (dict(fusion='late'), "fusion must be one of .*'late'"),
    (dict(mask_ratio=1.0), r'mask_ratio must be in \(0, 1\), got 1.0'),
    (dict(mask_ratio=0), r'mask_ratio must be in \(0, 1\), got 0'),
    (dict(reuse_at_test='blank'), "reuse_at_test .*'blank'"),
])
def test_bad_arguments_fail_at_build(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MaskResNet(18, **kwargs)
    with pytest.raises(ValueError, match=match):
        MaskEfficientNetV2(**kwargs)


def test_transformers_refuse_resnet_only_fusions_and_odd_patch_sizes():
    with pytest.raises(ValueError, match="fusion must be one of .*'image'"):
        MaskViT(arch='deit-tiny', img_size=64, fusion='image')
    with pytest.raises(ValueError, match="fusion must be one of .*'decision'"):
        MaskEfficientNetV2(fusion='decision')
    with pytest.raises(ValueError, match='patch size 16 x sqrt'):
        MaskViT(arch='deit-tiny', img_size=64, mask_ratio=0.09)


def test_feature_alignment_shapes_and_checks():
    fam = FeatureAlignment(64)
    kernels = [layer.conv.kernel_size for layer in fam.layers]
    assert kernels == [(1, 1), (3, 3), (1, 1)]
    assert [layer.conv.out_channels for layer in fam.layers] == [32, 32, 64]
    assert fam(torch.randn(2, 128, 8, 8)).shape == (2, 64, 8, 8)
    wide = FeatureAlignment(64, hidden_channels=64, kernel_sizes=(3, 3, 3))
    assert [layer.conv.kernel_size for layer in wide.layers] == [(3, 3)] * 3
    with pytest.raises(ValueError, match=r'kernel_sizes .*\(1, 2, 1\)'):
        FeatureAlignment(64, kernel_sizes=(1, 2, 1))


def test_frozen_stages_freeze_the_reuse_branch_too():
    model = MaskResNet(18, frozen_stages=1, norm_eval=True)
    model.train()
    for name in ('reuse_stem', 'reuse_fusion', 'conv1', 'layer1'):
        assert not any(p.requires_grad
                       for p in getattr(model, name).parameters()), name
    assert all(p.requires_grad for p in model.layer2.parameters())
    assert not model.reuse_stem.bn.training  # norm_eval


def test_mask_vit_embeds_the_reuse_image_with_half_the_patch_size():
    torch.manual_seed(0)
    model = MaskViT(arch='deit-tiny', img_size=64, patch_size=16)
    assert model.reuse_patch_embed.projection.kernel_size == (8, 8)
    images = torch.randn(2, 3, 64, 64)
    model.train()
    out = model(masked_pair(images))[-1]
    assert out.shape == (2, 192)
    # not out.sum(): the output leaves a LayerNorm, whose sum is constant,
    # so its gradient is only rounding noise
    (out * torch.randn_like(out)).sum().backward()
    assert model.reuse_patch_embed.projection.weight.grad.abs().sum() > 0
    model.eval()
    assert model(images)[-1].shape == (2, 192)
    # layer decay puts the reuse branch with the patch embedding
    assert model.get_layer_depth('backbone.reuse_fusion.alignment.x',
                                 'backbone.') == (0, 14)


def test_mask_swin_matches_swin_token_grid():
    model = MaskSwin(arch='tiny', img_size=64, pad_small_map=True)
    assert model.reuse_patch_embed.projection.kernel_size == (2, 2)
    images = torch.randn(1, 3, 64, 64)
    model.train()
    assert model(masked_pair(images))[-1].shape == (1, 768, 2, 2)
    swin = SwinTransformer(arch='tiny', img_size=64, pad_small_map=True)
    result = model.load_state_dict(swin.state_dict(), strict=False)
    assert result.unexpected_keys == []
    assert all(k.startswith('reuse_') for k in result.missing_keys)


def test_transformer_frozen_stages_freeze_the_reuse_branch():
    vit = MaskViT(arch='deit-tiny', img_size=64, frozen_stages=1)
    assert not any(p.requires_grad
                   for p in vit.reuse_patch_embed.parameters())
    assert not any(p.requires_grad for p in vit.reuse_fusion.parameters())
    assert all(p.requires_grad for p in
               MaskViT(arch='deit-tiny', img_size=64).parameters())
    swin = MaskSwin(arch='tiny', img_size=64, frozen_stages=0)
    assert not any(p.requires_grad for p in swin.reuse_fusion.parameters())
    assert all(p.requires_grad for p in swin.stages[1].parameters())


def test_residual_fusion_learns_from_its_zero_start():
    """The zeroed last norm gets a gradient: no activation after it (a ReLU
    at 0 would pass none, and the branch would stay off for good)."""
    model = MaskResNet(18, fusion='residual')
    model.train()
    out = model(masked_pair(torch.randn(2, 3, 64, 64)))[-1]
    (out * torch.randn_like(out)).sum().backward()
    last = model.reuse_fusion.alignment.layers[-1]
    assert not last.with_activation
    assert last.bn.weight.grad.abs().sum() > 0


def test_feature_alignment_zero_init_survives_a_parents_init_cfg():
    model = MaskResNet(18, fusion='residual')
    model.init_weights()  # Constant(1) on every _BatchNorm first
    last = model.reuse_fusion.alignment.layers[-1].bn
    assert torch.equal(last.weight, torch.zeros_like(last.weight))
    with pytest.raises(ValueError, match='zero_init_last needs a norm'):
        FeatureAlignment(8, norm_cfg=None, zero_init_last=True)


@pytest.mark.parametrize('upstream,ours,kwargs', [
    (VisionTransformer, MaskViT, dict(arch='deit-tiny', img_size=64)),
    (SwinTransformer, MaskSwin, dict(arch='tiny', img_size=64,
                                     pad_small_map=True)),
])
def test_transformers_run_upstreams_forward_on_the_fused_tokens(
        upstream, ours, kwargs):
    """With the residual fusion untrained, MaskViT / MaskSwin give exactly
    the upstream backbone's outputs from its weights: everything after the
    patch embedding is upstream's forward."""
    torch.manual_seed(0)
    theirs = upstream(**kwargs)
    theirs.eval()
    model = ours(fusion='residual', **kwargs)
    result = model.load_state_dict(theirs.state_dict(), strict=False)
    assert all(k.startswith('reuse_') for k in result.missing_keys)
    model.eval()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(model(images), theirs(images)):
            assert torch.equal(a, b)
        # the patch embedding on its own is left alone
        assert torch.equal(model.patch_embed(images)[0],
                           theirs.patch_embed(images)[0])


def test_mask_vit_frozen_reuse_branch_stays_in_eval_mode():
    vit = MaskViT(arch='deit-tiny', img_size=64, frozen_stages=1)
    vit.train()
    assert not any(m.training for m in vit.reuse_fusion.modules())


def test_mask_swin_loads_an_old_swin_checkpoint_as_its_twin_does(tmp_path):
    """mmdet's and mmseg's Swin checkpoints predate mmpretrain's version 2:
    their final norm is ``norm.*``; mmpretrain renames it to ``norm3.*``
    only for the class SwinTransformer itself."""
    kwargs = dict(arch='tiny', img_size=64, pad_small_map=True)
    source = SwinTransformer(**kwargs)
    torch.nn.init.normal_(source.norm3.weight)
    old = {(('norm.' + k[len('norm3.'):]) if k.startswith('norm3.') else k):
           v for k, v in source.state_dict().items()}
    path = str(tmp_path / 'old_swin.pth')
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in old.items()}),
               path)
    init_cfg = dict(type='Pretrained', checkpoint=path, prefix='backbone.')
    for model in (SwinTransformer(init_cfg=init_cfg, **kwargs),
                  MaskSwin(init_cfg=init_cfg, freeze_reuse=False, **kwargs)):
        model.init_weights()  # what the det/seg configs do
        assert torch.equal(model.norm3.weight, source.norm3.weight), model


def test_mask_efficientnet_v2_reuse_stem_is_the_stem_without_its_stride(
        tiny_efficientnet_v2):
    """The H/2 reuse image through the stem's layer at stride 1 meets the
    stem's H/2 map; a plain EfficientNetV2 checkpoint fills the reuse stem
    with its stem; ``frozen_stages=1`` freezes the reuse branch too, and
    refuses a plain checkpoint for a fusion it would freeze at its init."""
    torch.manual_seed(0)
    model = MaskEfficientNetV2(arch='tiny')
    assert model.reuse_stem.conv.stride == (1, 1)
    assert model.layers[0].conv.stride == (2, 2)
    # the alignment replaces activated stem features: conv-BN-Swish x 3
    alignment = model.reuse_fusion.alignment.layers
    assert all(type(layer.activate).__name__ == 'Swish'
               for layer in alignment)
    assert alignment[-1].bn.eps == model.layers[0].bn.eps == 1e-3
    model.train()
    out = model(masked_pair(torch.randn(2, 3, 32, 32)))[-1]
    assert out.shape == (2, 64, 4, 4)
    (out * torch.randn_like(out)).sum().backward()
    assert model.reuse_stem.conv.weight.grad.abs().sum() > 0
    plain = EfficientNetV2(arch='tiny')
    result = model.load_state_dict(plain.state_dict(), strict=False)
    assert all(k.startswith('reuse_fusion.') for k in result.missing_keys)
    for name, value in plain.layers[0].state_dict().items():
        assert torch.equal(model.reuse_stem.state_dict()[name], value), name
    frozen = MaskEfficientNetV2(arch='tiny', frozen_stages=1, fusion='add')
    assert not any(p.requires_grad for p in frozen.reuse_stem.parameters())
    frozen.load_state_dict(plain.state_dict(), strict=False)
    frozen.train()
    assert not frozen.reuse_stem.bn.training
    assert all(p.requires_grad for p in frozen.layers[1].parameters())
    with pytest.raises(ValueError, match='no weights for reuse_fusion'):
        MaskEfficientNetV2(arch='tiny', frozen_stages=1).load_state_dict(
            plain.state_dict(), strict=False)
