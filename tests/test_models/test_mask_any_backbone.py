"""MaskAnyBackbone: MaskAnyNet on upstream backbones we have no class for,
by config: it trains, its zero-init residual is the plain backbone at step
0, and stripped it is the plain upstream model."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample

from mmmaskreuse.engine import build_model
from mmmaskreuse.masking import MaskReuse
from mmmaskreuse.models import MaskConvNeXt, MaskEfficientNetV2
from mmmaskreuse.models.strip import (strip_reuse, strip_reuse_config,
                                      strip_reuse_state_dict)
from tests.conftest import run_tool_here

TINY_HRNET = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                num_blocks=(1, ), num_channels=(8, )),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC',
                num_blocks=(1, 1), num_channels=(8, 16)),
    stage3=dict(num_modules=1, num_branches=3, block='BASIC',
                num_blocks=(1, 1, 1), num_channels=(8, 16, 32)),
    stage4=dict(num_modules=1, num_branches=4, block='BASIC',
                num_blocks=(1, 1, 1, 1), num_channels=(8, 16, 32, 64)))

# name: (upstream backbone config, fusion point, channels of its last
# output, the reuse stem the wrapper derives: a copy or the conv stem)
UPSTREAM = {
    'regnet': (dict(type='mmpretrain.RegNet', stem_channels=8,
                    arch=dict(w0=8, wa=8.0, wm=2.0, group_w=8, depth=8,
                              bot_mul=1.0)),
               dict(fuse_after='relu'), 64, 'copy'),
    'mobilenet_v2': (dict(type='mmpretrain.MobileNetV2', widen_factor=0.25),
                     dict(fuse_after='conv1'), 1280, 'copy'),
    'resnext': (dict(type='mmpretrain.ResNeXt', depth=50, num_stages=1,
                     strides=(1, ), dilations=(1, ), out_indices=(0, ),
                     stem_channels=16, base_channels=16, groups=4,
                     width_per_group=4),
                dict(fuse_after='maxpool'), 64, 'copy'),
    'hrnet': (dict(type='mmpretrain.HRNet', extra=TINY_HRNET),
              dict(fuse_before='layer1'), 64, 'copy'),
    # mmdet only: a Focus stem (space-to-depth, then a stride-1 conv) has no
    # stride to divide, so the reuse stem is the conv stem
    'mmdet_cspdarknet': (dict(type='mmdet.CSPDarknet', deepen_factor=0.33,
                              widen_factor=0.125),
                         dict(fuse_after='stem'), 128, 'conv'),
}


def classifier_cfg(name, **reuse):
    backbone, point, channels, _ = UPSTREAM[name]
    return Config(dict(
        default_scope='mmpretrain',
        model=dict(
            type='ImageClassifier',
            backbone=dict(type='mmmaskreuse.MaskAnyBackbone',
                          backbone=backbone, **point, **reuse),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=4,
                      in_channels=channels,
                      loss=dict(type='CrossEntropyLoss'))),
        data_preprocessor=dict(
            type='mmmaskreuse.MaskReuseClsDataPreprocessor', num_classes=4,
            mask_generator=dict(type='CombinedMask', mask_ratio=0.25,
                                grid_size=(4, 4)))))


def masked_pair(images):
    return MaskReuse(dict(type='CombinedMask', mask_ratio=0.25,
                          grid_size=(4, 4)))(images)


def train_batch():
    generator = torch.Generator().manual_seed(1)
    return dict(
        inputs=[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8,
                              generator=generator) for _ in range(2)],
        data_samples=[DataSample().set_gt_label(label) for label in (0, 3)])


def outputs_equal(ours, theirs):
    return len(ours) == len(theirs) and all(
        torch.equal(a, b) for a, b in zip(ours, theirs))


def assert_stripped_is_dropped(stripped, model, images):
    """The stripped classifier's logits are the MaskAnyNet one's with
    ``reuse_at_test='drop'``, exactly, and not those with the branch."""
    stripped.eval()
    model.eval()
    with torch.no_grad():
        with_branch = model(images, mode='tensor')
        model.backbone.reuse_at_test = 'drop'
        dropped = model(images, mode='tensor')
        assert torch.equal(stripped(images, mode='tensor'), dropped)
    assert not torch.equal(with_branch, dropped)  # the branch is used


@pytest.mark.parametrize('name', list(UPSTREAM))
def test_maskanynet_on_an_upstream_backbone_trains_and_strips_to_it(name):
    torch.manual_seed(0)
    cfg = classifier_cfg(name, fusion='residual', reuse_drop_prob=0.5)
    model = build_model(cfg, init_weights=True)
    backbone = model.backbone
    upstream = type(backbone).__bases__[1]
    assert type(backbone).__name__ == f'MaskAny{upstream.__name__}'
    assert backbone.reuse_stem_copied == (UPSTREAM[name][3] == 'copy')

    # step 0: the zero-init residual is the plain backbone, exactly, in
    # training too (masked image in, the reuse image fused through zeros)
    plain = build_model(strip_reuse_config(cfg))
    assert type(plain.backbone) is upstream
    plain.load_state_dict(strip_reuse_state_dict(cfg, model.state_dict()))
    images = torch.randn(2, 3, 64, 64)
    pair = masked_pair(images)
    backbone.reuse_drop_prob = 0.  # every sample through the fusion
    assert outputs_equal(backbone(pair), plain.backbone(pair.masked_image))
    backbone.reuse_drop_prob = 0.5

    # a train step from the data preprocessor's masked batch
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    last_norm = backbone.reuse_fusion.alignment.layers[-1].norm.weight
    log = model.train_step(train_batch(), optim)
    assert torch.isfinite(log['loss'])
    assert last_norm.abs().sum() > 0  # the fusion learns from its zero

    # strip: the plain upstream model, outputs of reuse_at_test='drop'
    plain_cfg, checkpoint = strip_reuse(cfg,
                                        dict(state_dict=model.state_dict()))
    assert 'mmmaskreuse' not in plain_cfg.pretty_text
    stripped = build_model(plain_cfg)
    stripped.load_state_dict(checkpoint['state_dict'], strict=True)
    # one SGD step moves the fusion's last scale by about 1e-2: on the
    # smallest backbone (CSPDarknet) its effect on the logits can round
    # away, so give the branch a weight it can be seen with (the stripped
    # model has no branch: its equality to 'drop' is unaffected)
    with torch.no_grad():
        torch.nn.init.normal_(last_norm)
    assert_stripped_is_dropped(stripped, model, images)


def test_strip_reuse_py_writes_the_plain_upstream_model(tmp_path):
    """The tool on a trained-looking wrapper config: a config of the plain
    HRNet and its checkpoint, which compute ``reuse_at_test='drop'``."""
    from mmengine.runner import load_checkpoint
    torch.manual_seed(0)
    cfg = classifier_cfg('hrnet', fusion='residual', reuse_drop_prob=0.5)
    model = build_model(cfg).eval()
    torch.nn.init.normal_(
        model.backbone.reuse_fusion.alignment.layers[-1].norm.weight)
    cfg.dump(str(tmp_path / 'hrnet.py'))
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'hrnet.pth')
    run_tool_here([
        'model_converters/strip_reuse.py', str(tmp_path / 'hrnet.py'),
        str(tmp_path / 'hrnet.pth'), str(tmp_path / 'plain.pth')
    ], tmp_path, check=True)
    plain_cfg = Config.fromfile(str(tmp_path / 'plain.py'))
    assert 'mmmaskreuse' not in plain_cfg.pretty_text
    plain = build_model(plain_cfg).eval()
    load_checkpoint(plain, str(tmp_path / 'plain.pth'), strict=True,
                    logger='silent')
    assert type(plain.backbone).__name__ == 'HRNet'
    assert_stripped_is_dropped(plain, model, torch.randn(2, 3, 64, 64))


def test_a_plain_checkpoint_loads_into_the_primary_path(tmp_path):
    """Its weights where the plain backbone has them, under its own names;
    its stem's in the reuse stem (same shapes); only the fusion left."""
    torch.manual_seed(0)
    upstream_cfg = UPSTREAM['regnet'][0]
    plain = build_model(Config(dict(default_scope='mmpretrain',
                                    model=upstream_cfg)))
    for param in plain.parameters():  # away from any init
        param.data.uniform_()
    torch.save(dict(state_dict=plain.state_dict()), tmp_path / 'regnet.pth')
    cfg = classifier_cfg('regnet')
    cfg.model.backbone.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=str(tmp_path / 'regnet.pth'))
    backbone = build_model(cfg, init_weights=True).backbone
    ours = backbone.state_dict()
    for key, value in plain.state_dict().items():
        assert torch.equal(ours[key], value), key
    assert torch.equal(ours['reuse_stem.conv1.weight'],
                       plain.state_dict()['conv1.weight'])
    result = copy.deepcopy(backbone).load_state_dict(plain.state_dict(),
                                                     strict=False)
    assert result.unexpected_keys == []
    assert {key.split('.')[0] for key in result.missing_keys} == {
        'reuse_fusion'}


@pytest.mark.parametrize('ours,upstream,kwargs', [
    (MaskConvNeXt, 'ConvNeXt', dict(
        arch=dict(depths=[1, 1, 1, 1], channels=[8, 16, 32, 64]))),
    (MaskEfficientNetV2, 'EfficientNetV2', dict(arch='tiny')),
])
def test_our_stem_classes_are_the_wrapper_on_their_upstream(
        ours, upstream, kwargs, tiny_efficientnet_v2):
    """MaskConvNeXt and MaskEfficientNetV2 derive the reuse stem as the
    wrapper does: the same state dict, the same outputs."""
    torch.manual_seed(0)
    theirs = ours(**kwargs, fusion='concat')
    alignment = dict(dict(last_act=True), **theirs._alignment_defaults())
    cfg = Config(dict(default_scope='mmpretrain', model=dict(
        type='mmmaskreuse.MaskAnyBackbone',
        backbone=dict(type=upstream, **kwargs), fusion='concat',
        fuse_after=theirs.stem_name, alignment_cfg=alignment)))
    wrapper = build_model(cfg)
    wrapper.load_state_dict(theirs.state_dict(), strict=True)
    pair = masked_pair(torch.randn(2, 3, 64, 64))
    assert outputs_equal(wrapper(pair), theirs(pair))


def test_stem_frozen_by_upstream_freezes_the_reuse_branch():
    cfg = classifier_cfg('regnet')
    cfg.model.backbone.backbone.frozen_stages = 0  # ResNet's: the stem
    backbone = build_model(cfg).backbone.train()
    reuse = [backbone.reuse_stem, backbone.reuse_fusion]
    assert not any(p.requires_grad for m in reuse for p in m.parameters())
    assert not any(m.training for m in reuse)
    cfg.model.backbone.freeze_reuse = False
    backbone = build_model(cfg).backbone.train()
    reuse = [backbone.reuse_stem, backbone.reuse_fusion]
    assert all(p.requires_grad for m in reuse for p in m.parameters())
    assert backbone.reuse_fusion.training


@pytest.mark.parametrize('fusion', ['concat', 'add', 'residual'])
def test_every_fusion_and_test_mode_runs(fusion):
    cfg = classifier_cfg('mobilenet_v2', fusion=fusion)
    backbone = build_model(cfg).backbone
    pair = masked_pair(torch.randn(2, 3, 64, 64))
    backbone.train()
    backbone(pair)[-1].sum().backward()
    reuse = [*backbone.reuse_stem.parameters(),
             *backbone.reuse_fusion.parameters()]
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in reuse)
    backbone.eval()
    images = torch.randn(2, 3, 64, 64)
    for mode in ('downsample', 'off', 'zeros') + (
            ('drop', ) if fusion != 'concat' else ()):
        backbone.reuse_at_test = mode
        assert backbone(images)[-1].shape == (2, 1280, 2, 2)
    # a copy (mmengine's EMA hook makes one) fuses through its own hook
    twin = copy.deepcopy(backbone)
    backbone.reuse_at_test = twin.reuse_at_test = 'downsample'
    assert outputs_equal(twin(images), backbone(images))


@pytest.mark.parametrize('mask_ratio,reuse_map', [(1 / 16, 16),
                                                   (0.5625, 12)])
def test_other_mask_ratios(mask_ratio, reuse_map):
    """1/16: both stride-2 steps of ResNeXt's stem go (its H/4 map from
    the H/4 reuse image); 0.5625 (no 1/n**2): none goes, and the fusion
    resizes the 3H/16 map to H/4."""
    backbone = build_model(classifier_cfg(
        'resnext', mask_ratio=mask_ratio)).backbone.train()
    pair = MaskReuse(dict(type='CombinedMask', mask_ratio=mask_ratio,
                          grid_size=(8, 8), period=4))(
                              torch.randn(2, 3, 64, 64))
    assert backbone.reuse_stem_copied
    reused = backbone.reuse_stem(pair.reuse_image)
    assert reused.shape[-2:] == (reuse_map, reuse_map)
    assert backbone(pair)[-1].shape == (2, 64, 16, 16)


def build_backbone(backbone, **kwargs):
    return build_model(Config(dict(
        default_scope='mmpretrain',
        model=dict(type='mmmaskreuse.MaskAnyBackbone', backbone=backbone,
                   **kwargs))))


@pytest.mark.parametrize('backbone,kwargs,match', [
    # a stride-1 stem: the H/2 reuse image cannot reach its H x H map
    (dict(type='ResNet_CIFAR', depth=18), dict(fuse_after='relu'),
     r"'relu' outputs a feature map of \(64, 64, 64\) .*reuse image of "
     r'\(3, 32, 32\).*set fuse_after or fuse_before'),
    (dict(type='ResNet', depth=18), dict(fuse_after='stem'),
     r"fuse_after='stem' is no module .*'conv1'"),
    (dict(type='ResNet', depth=18), dict(fuse_after='layer4.9'),
     'is no module'),
    (dict(type='VisionTransformer', arch='deit-tiny', img_size=64),
     dict(fuse_after='patch_embed'), r'is tuple, not a \[B, C, H, W\]'),
    (dict(type='ResNet', depth=18), dict(fuse_after='relu',
                                         fuse_before='layer1'), 'exactly one'),
    (dict(type='ResNet', depth=18), {}, 'exactly one'),
    (dict(type='mmdet.CSPDarknet', widen_factor=0.125),
     dict(fuse_after='stem', reuse_stem_kind='copy'),
     r"cannot be copied .*reuse_stem_kind='conv'"),
    (dict(type='mmmaskreuse.MaskResNet', depth=18),
     dict(fuse_after='maxpool'), 'already has a reuse branch'),
    (dict(type='NoSuchNet'), dict(fuse_after='stem'),
     "'NoSuchNet' is not registered"),
])
def test_what_cannot_be_fused_stops_the_build(backbone, kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_backbone(backbone, **kwargs)
