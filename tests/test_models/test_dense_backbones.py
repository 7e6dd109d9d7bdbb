"""MaskAnyNet backbones as multi-scale feature extractors for FPN and
UperNet: padded sizes, mmdet/mmseg checkpoints, freezing."""
import re

import pytest
import torch
from mmdet.models.backbones import ResNet as DetResNet
from mmpretrain.models.backbones import ResNet, SwinTransformer
from mmseg.models.backbones import ResNetV1c as SegResNetV1c

from mmmaskreuse.masking import MaskReuse
from mmmaskreuse.models import MaskResNet, MaskResNetV1c, MaskSwin

# padded detection batches: sizes divisible by 32, not by the 8x8 grid cell
PADDED = (2, 3, 96, 160)


def padded_pair(shape=PADDED, sizes=((96, 150), (70, 160))):
    images = torch.randn(shape)
    return MaskReuse(dict(type='CombinedMask'))(
        images, image_sizes=torch.tensor(sizes))


@pytest.mark.parametrize('backbone,channels', [
    (lambda: MaskResNet(18, out_indices=(0, 1, 2, 3)), (64, 128, 256, 512)),
    (lambda: MaskResNetV1c(depth=18, out_indices=(0, 1, 2, 3)),
     (64, 128, 256, 512)),
    (lambda: MaskSwin(arch='tiny', out_indices=(0, 1, 2, 3),
                      pad_small_map=True),
     (96, 192, 384, 768)),
])
def test_four_scales_for_any_padded_size(backbone, channels):
    model = backbone()
    model.train()
    outs = model(padded_pair())
    strides = (4, 8, 16, 32)
    assert [o.shape for o in outs] == [
        (2, c, 96 // s, 160 // s) for c, s in zip(channels, strides)
    ]
    sum(o.sum() for o in outs).backward()
    reuse = model.reuse_stem if hasattr(model, 'reuse_stem') else \
        model.reuse_patch_embed
    assert all(p.grad is not None for p in reuse.parameters())
    model.eval()
    with torch.no_grad():  # test batches: plain images of any size
        assert len(model(torch.randn(1, 3, 75, 103))) == 4


def test_mmdet_resnet_checkpoint_loads_and_seeds_the_reuse_stem():
    reference = DetResNet(depth=18)
    # residual: an untrained fusion leaves the trunk's outputs as they are
    model = MaskResNet(18, out_indices=(0, 1, 2, 3), fusion='residual',
                       reuse_at_test='off')
    result = model.load_state_dict(reference.state_dict(), strict=False)
    assert result.unexpected_keys == []
    assert all(k.startswith('reuse_fusion.') for k in result.missing_keys)
    # a plain ResNet has no reuse stem: it starts as the stem
    assert torch.equal(model.reuse_stem.conv.weight, model.conv1.weight)
    assert torch.equal(model.reuse_stem.bn.running_var,
                       model.bn1.running_var)
    reference.eval()
    model.eval()
    images = torch.randn(1, 3, 64, 96)
    for ours, theirs in zip(model(images), reference(images)):
        torch.testing.assert_close(ours, theirs)


def test_mmseg_resnetv1c_checkpoint_deep_stem_is_renamed():
    reference = SegResNetV1c(depth=18)
    model = MaskResNetV1c(depth=18, out_indices=(0, 1, 2, 3),
                          fusion='residual', reuse_at_test='off',
                          contract_dilation=True)
    result = model.load_state_dict(reference.state_dict(), strict=False)
    assert result.unexpected_keys == []
    assert all(k.startswith('reuse_fusion.') for k in result.missing_keys)
    assert torch.equal(model.reuse_stem[2].conv.weight,
                       model.stem[2].conv.weight)
    reference.eval()
    model.eval()
    images = torch.randn(1, 3, 64, 96)
    for ours, theirs in zip(model(images), reference(images)):
        torch.testing.assert_close(ours, theirs)


def test_a_maskanynet_checkpoint_keeps_its_reuse_stem():
    trained = MaskResNet(18)
    with torch.no_grad():
        trained.reuse_stem.conv.weight.add_(1)
    model = MaskResNet(18)
    assert model.load_state_dict(trained.state_dict()).missing_keys == []
    assert torch.equal(model.reuse_stem.conv.weight,
                       trained.reuse_stem.conv.weight)
    assert not torch.equal(model.reuse_stem.conv.weight, model.conv1.weight)


def test_freeze_reuse_false_trains_the_reuse_branch_under_frozen_stages():
    model = MaskResNet(18, frozen_stages=1, norm_eval=True,
                       freeze_reuse=False)
    model.train()
    assert not any(p.requires_grad for p in model.layer1.parameters())
    for name in ('reuse_stem', 'reuse_fusion'):
        assert all(p.requires_grad
                   for p in getattr(model, name).parameters()), name
    swin = MaskSwin(arch='tiny', frozen_stages=0, freeze_reuse=False)
    assert not any(p.requires_grad for p in swin.patch_embed.parameters())
    assert all(p.requires_grad for p in swin.reuse_fusion.parameters())


def test_pretrained_is_an_init_cfg_as_in_mmdet_and_mmseg():
    model = MaskResNetV1c(depth=18, pretrained='open-mmlab://resnet18_v1c')
    assert model.init_cfg == dict(type='Pretrained',
                                  checkpoint='open-mmlab://resnet18_v1c')
    with pytest.raises(ValueError, match='pretrained=.*or init_cfg='):
        MaskResNet(18, pretrained='a.pth',
                   init_cfg=dict(type='Pretrained', checkpoint='b.pth'))


@pytest.mark.parametrize('kwargs,match', [
    (dict(freeze_reuse='yes'), "freeze_reuse must be True or False, got "
     "'yes'"),
    (dict(contract_dilation=True, dilations=(1, 1, 2, 4)),
     r'contract_dilation=True with dilations=\(1, 1, 2, 4\)'),
])
def test_bad_dense_arguments_fail_at_build(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MaskResNetV1c(depth=18, **kwargs)


def test_init_cfg_loads_a_maskanynet_classifier_checkpoint(tmp_path):
    classifier_backbone = MaskResNet(18)
    with torch.no_grad():
        classifier_backbone.reuse_stem.conv.weight.add_(1)
    checkpoint = tmp_path / 'classifier.pth'
    torch.save(dict(state_dict={
        f'backbone.{k}': v
        for k, v in classifier_backbone.state_dict().items()
    }), checkpoint)
    detector_backbone = MaskResNet(
        18, out_indices=(0, 1, 2, 3), frozen_stages=1, norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint=str(checkpoint),
                      prefix='backbone.'))
    detector_backbone.init_weights()
    for key, value in classifier_backbone.state_dict().items():
        assert torch.equal(detector_backbone.state_dict()[key], value), key
    # frozen with the stem (freeze_reuse defaults to True)
    assert not any(p.requires_grad
                   for p in detector_backbone.reuse_stem.parameters())


def _save_backbone(module, path):
    torch.save(dict(state_dict={
        f'backbone.{k}': v
        for k, v in module.state_dict().items()
    }), path)
    return dict(type='Pretrained', checkpoint=str(path), prefix='backbone.')


def test_a_plain_checkpoint_into_a_frozen_reuse_branch_fails(tmp_path):
    plain = _save_backbone(ResNet(18), tmp_path / 'resnet18.pth')
    frozen = MaskResNet(18, frozen_stages=1, init_cfg=plain)
    with pytest.raises(ValueError,
                       match=r'no weights for reuse_fusion .*freeze_reuse=True'
                       r' with frozen_stages=1 .*freeze_reuse=False'):
        frozen.init_weights()
    # what the message proposes: the reuse branch trains from its init
    training = MaskResNet(18, frozen_stages=1, freeze_reuse=False,
                          init_cfg=plain)
    training.init_weights()
    assert torch.equal(training.reuse_stem.conv.weight,
                       training.conv1.weight)
    # 'add' has no fusion weights; the reuse stem is the pretrained stem
    MaskResNet(18, fusion='add', frozen_stages=1,
               init_cfg=plain).init_weights()
    swin = SwinTransformer(arch='tiny', img_size=64, pad_small_map=True)
    with pytest.raises(ValueError, match='no weights for reuse_patch_embed, '
                       'reuse_fusion'):
        MaskSwin(arch='tiny', img_size=64, pad_small_map=True,
                 frozen_stages=0, init_cfg=_save_backbone(
                     swin, tmp_path / 'swin.pth')).init_weights()


def test_a_missing_local_checkpoint_is_named_before_loading(tmp_path):
    missing = str(tmp_path / 'resnet50_imagenet' / 'epoch_100.pth')
    model = MaskResNet(18, frozen_stages=1, init_cfg=dict(
        type='Pretrained', checkpoint=missing, prefix='backbone.'))
    with pytest.raises(FileNotFoundError,
                       match=f"checkpoint '{re.escape(missing)}' does not "
                       'exist.*model.backbone.init_cfg.checkpoint'):
        model.init_weights()
