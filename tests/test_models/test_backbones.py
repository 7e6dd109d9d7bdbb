import pytest
import torch
from mmpretrain.models.backbones import ResNet, SwinTransformer

from mmmaskreuse.masking import MaskReuse
from mmmaskreuse.models import (FeatureAlignment, MaskResNet,
                                MaskResNetCIFAR, MaskSwin, MaskViT)


def num_params(module):
    return sum(p.numel() for p in module.parameters())


def masked_pair(images):
    return MaskReuse(dict(type='CombinedMask', mask_ratio=0.25))(images)


@pytest.mark.parametrize('depth', [18, 50])
def test_masking_off_and_reuse_off_equals_mmpretrain_resnet(depth):
    torch.manual_seed(0)
    resnet = ResNet(depth, out_indices=(0, 1, 2, 3))
    resnet.eval()
    model = MaskResNet(depth, out_indices=(0, 1, 2, 3), reuse_at_test='off')
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


@pytest.mark.parametrize('fusion', ['concat', 'add', 'image', 'decision'])
def test_reuse_branch_is_used(fusion):
    model = MaskResNet(18, fusion=fusion)
    model.eval()
    pair = masked_pair(torch.randn(2, 3, 64, 64))
    other = pair._replace(reuse_image=torch.randn_like(pair.reuse_image))
    with torch.no_grad():
        assert not torch.allclose(model(pair)[-1], model(other)[-1])


def test_reuse_at_test_off_skips_the_reuse_branch():
    images = torch.randn(2, 3, 64, 64)
    on = MaskResNet(18)
    on.eval()
    off = MaskResNet(18, reuse_at_test='off')
    off.load_state_dict(on.state_dict())
    off.eval()
    with torch.no_grad():
        # with downsampling the result depends on the reuse branch
        assert not torch.allclose(on(images)[-1], off(images)[-1])
        stem = off.maxpool(off.relu(off.norm1(off.conv1(images))))
        assert torch.equal(off(images)[-1], off._stages(stem)[-1])


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


@pytest.mark.parametrize('kwargs,match', [
    (dict(fusion='late'), "fusion must be one of .*'late'"),
    (dict(mask_ratio=1.0), r'mask_ratio must be in \(0, 1\), got 1.0'),
    (dict(mask_ratio=0), r'mask_ratio must be in \(0, 1\), got 0'),
    (dict(reuse_at_test='zeros'), "reuse_at_test .*'zeros'"),
])
def test_bad_arguments_fail_at_build(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MaskResNet(18, **kwargs)


def test_transformers_refuse_resnet_only_fusions_and_odd_patch_sizes():
    with pytest.raises(ValueError, match="fusion must be one of .*'image'"):
        MaskViT(arch='deit-tiny', img_size=64, fusion='image')
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
