"""A diverging run stops at its first non-finite loss and says so; a run
that would start from a missing or wrong checkpoint, or with a frozen
reuse branch no checkpoint filled, does not start."""
import math
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from mmengine.model import BaseModule
from mmengine.runner import BaseLoop

from mmmaskreuse.engine import (CheckFrozenReuseHook,
                                CheckPretrainedWeightsHook,
                                StopOnInvalidLossHook)


def runner(iteration=6, epoch=0):
    return SimpleNamespace(iter=iteration, epoch=epoch, work_dir='work_dirs/x')


def test_finite_terms_pass():
    hook = StopOnInvalidLossHook()
    hook.after_train_iter(runner(), 0, outputs=dict(
        loss=torch.tensor(1.5), loss_cls=torch.tensor(0.5), acc=97.0))


@pytest.mark.parametrize('bad', [math.nan, math.inf, -math.inf])
def test_a_non_finite_term_stops_naming_the_iteration_and_terms(bad):
    # what an mmdet detector logs: the total and each term
    outputs = dict(loss=torch.tensor(bad), loss_rpn_cls=torch.tensor(0.7),
                   loss_bbox=torch.tensor(bad))
    with pytest.raises(RuntimeError) as error:
        StopOnInvalidLossHook().after_train_iter(runner(), 0,
                                                 outputs=outputs)
    message = str(error.value)
    assert 'diverged at iteration 7 (epoch 1)' in message
    assert 'loss, loss_bbox not finite' in message
    assert 'loss_rpn_cls=0.7' in message


def test_interval_skips_the_iterations_between_checks():
    hook = StopOnInvalidLossHook(interval=4)
    nan = dict(loss=torch.tensor(math.nan))
    hook.after_train_iter(runner(iteration=5), 0, outputs=nan)
    with pytest.raises(RuntimeError, match='iteration 8'):
        hook.after_train_iter(runner(iteration=7), 0, outputs=nan)


@pytest.mark.parametrize('interval', [0, 1.5])
def test_bad_interval_fails_at_build(interval):
    with pytest.raises(ValueError, match=f'got {interval}'):
        StopOnInvalidLossHook(interval=interval)


class Encoder(BaseModule):
    """A backbone that starts from a checkpoint's ``backbone.`` weights."""

    def __init__(self, checkpoint):
        super().__init__(init_cfg=dict(type='Pretrained',
                                       checkpoint=str(checkpoint),
                                       prefix='backbone.'))
        self.blocks = torch.nn.Sequential(torch.nn.Linear(2, 2),
                                          torch.nn.LayerNorm(2))
        self.head_norm = torch.nn.LayerNorm(2)  # what a downstream task adds


def training_runner(checkpoint):
    model = torch.nn.Module()
    model.backbone = Encoder(checkpoint)
    return SimpleNamespace(model=model, _train_loop=mock.Mock(spec=BaseLoop))


def save_encoder(path, keys):
    weights = {'blocks.0.weight': torch.ones(2, 2), 'blocks.0.bias':
               torch.ones(2), 'blocks.1.weight': torch.ones(2),
               'blocks.1.bias': torch.ones(2)}
    torch.save({'state_dict': {f'backbone.{key}': weights[key]
                               for key in keys}}, path)


def test_pretrained_check_allows_only_the_layers_it_is_told_are_new(
        tmp_path):
    checkpoint = tmp_path / 'pretrain.pth'
    save_encoder(checkpoint, ['blocks.0.weight', 'blocks.0.bias',
                              'blocks.1.weight', 'blocks.1.bias'])
    runner = training_runner(checkpoint)
    CheckPretrainedWeightsHook(allow_missing=('head_norm.', )).before_run(
        runner)
    with pytest.raises(ValueError) as error:
        CheckPretrainedWeightsHook().before_run(runner)
    assert (f"model.backbone.init_cfg.checkpoint='{checkpoint}' holds no "
            "weights for head_norm.weight, head_norm.bias of Encoder "
            "(prefix 'backbone.')") in str(error.value)


def test_pretrained_check_names_a_missing_checkpoint_and_missing_keys(
        tmp_path):
    hook = CheckPretrainedWeightsHook(allow_missing=('head_norm.', ))
    with pytest.raises(FileNotFoundError,
                       match="checkpoint='.*none.pth': no such checkpoint"):
        hook.before_run(training_runner(tmp_path / 'none.pth'))
    partial = tmp_path / 'partial.pth'
    save_encoder(partial, ['blocks.0.weight', 'blocks.0.bias'])
    with pytest.raises(ValueError,
                       match='no weights for blocks.1.weight, blocks.1.bias '):
        hook.before_run(training_runner(partial))
    # a test or validation run loads a trained checkpoint instead: no check
    hook.before_run(SimpleNamespace(model=training_runner(partial).model,
                                    _train_loop=dict(max_epochs=1)))
    with pytest.raises(ValueError, match='sequence of key beginnings'):
        CheckPretrainedWeightsHook(allow_missing='ln2.')


def test_pretrained_check_lets_a_maskanynet_backbone_start_from_a_plain_one(
        tmp_path):
    """A plain ResNet checkpoint holds none of the reuse branch, which the
    backbone starts itself (the reuse stem as a copy of the stem): allowed.
    One holding part of the branch (the stem, not the fusion) is not."""
    from mmpretrain.models import ResNet_CIFAR

    from mmmaskreuse.models import MaskResNetCIFAR
    small = dict(depth=18, stem_channels=16, base_channels=16)
    plain = tmp_path / 'plain.pth'
    torch.save({'state_dict': {
        f'backbone.{key}': value
        for key, value in ResNet_CIFAR(**small).state_dict().items()}}, plain)
    model = torch.nn.Module()
    model.backbone = MaskResNetCIFAR(**small, init_cfg=dict(
        type='Pretrained', checkpoint=str(plain), prefix='backbone.'))
    hook = CheckPretrainedWeightsHook()
    hook.before_run(SimpleNamespace(model=model,
                                    _train_loop=mock.Mock(spec=BaseLoop)))
    half = tmp_path / 'half_of_the_branch.pth'
    torch.save({'state_dict': {
        f'backbone.{key}': value
        for key, value in MaskResNetCIFAR(**small).state_dict().items()
        if not key.startswith('reuse_fusion.')}}, half)
    model.backbone = MaskResNetCIFAR(**small, init_cfg=dict(
        type='Pretrained', checkpoint=str(half), prefix='backbone.'))
    with pytest.raises(ValueError, match=r'holds no weights for '
                       r'reuse_fusion\.alignment\.'):
        hook.before_run(SimpleNamespace(model=model,
                                        _train_loop=mock.Mock(spec=BaseLoop)))


def test_a_frozen_reuse_branch_must_come_from_a_checkpoint():
    """MaskResNet-18 with frozen_stages=0 freezes its reuse stem and fusion
    (freeze_reuse=True): refused until a state dict holding them loads;
    a trainable branch (freeze_reuse=False) needs none. The toy config's
    refusal through tools/train.py: test_tools/test_bad_input.py."""
    from mmmaskreuse.models import MaskResNet
    backbone = MaskResNet(depth=18, frozen_stages=0)
    model = torch.nn.Module()
    model.backbone = backbone
    with pytest.raises(ValueError) as error:
        CheckFrozenReuseHook().before_train(SimpleNamespace(model=model))
    assert ('model.backbone (MaskResNet) freezes reuse_stem, reuse_fusion '
            '(freeze_reuse=True, frozen_stages=0), but no checkpoint filled '
            'them') in str(error.value)
    assert 'set model.backbone.freeze_reuse=False' in str(error.value)
    # a checkpoint of the whole MaskAnyNet backbone fills the branch
    backbone.load_state_dict(MaskResNet(depth=18).state_dict())
    CheckFrozenReuseHook().before_train(SimpleNamespace(model=model))
    model.backbone = MaskResNet(depth=18, frozen_stages=0, freeze_reuse=False)
    CheckFrozenReuseHook().before_train(SimpleNamespace(model=model))


def test_pretrained_check_refuses_weights_of_another_shape(tmp_path):
    """A checkpoint of a wider model fills every key, in other shapes:
    mmengine would warn and train those layers from random. Refused, naming
    the shapes; a ViT's position embedding, which the ViT resizes as it
    loads, is not."""
    from mmpretrain.models import VisionTransformer
    small = dict(arch=dict(embed_dims=32, num_layers=1, num_heads=2,
                           feedforward_channels=64), patch_size=8)
    wide = tmp_path / 'wide.pth'
    wider = dict(small, arch=dict(small['arch'], embed_dims=48))
    torch.save({'state_dict': {
        f'backbone.{key}': value for key, value in
        VisionTransformer(img_size=32, **wider).state_dict().items()}}, wide)
    model = torch.nn.Module()
    model.backbone = VisionTransformer(img_size=32, **small, init_cfg=dict(
        type='Pretrained', checkpoint=str(wide), prefix='backbone.'))
    runner = SimpleNamespace(model=model,
                             _train_loop=mock.Mock(spec=BaseLoop))
    with pytest.raises(ValueError) as error:
        CheckPretrainedWeightsHook().before_run(runner)
    assert ('holds weights of another shape than VisionTransformer (prefix '
            "'backbone.'): cls_token: [1, 1, 48] in the checkpoint, "
            '[1, 1, 32] in the model') in str(error.value)
    # 64-px images: 64 patches against the 16 the checkpoint's embedding has
    larger = tmp_path / 'larger_images.pth'
    torch.save({'state_dict': {
        f'backbone.{key}': value for key, value in
        VisionTransformer(img_size=64, **small).state_dict().items()}},
        larger)
    model.backbone = VisionTransformer(img_size=32, **small, init_cfg=dict(
        type='Pretrained', checkpoint=str(larger), prefix='backbone.'))
    CheckPretrainedWeightsHook().before_run(runner)
