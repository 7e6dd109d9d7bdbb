"""FCMAE on a sparse ConvNeXt V2, and its second shot: the issue's claims
(no leak, GRN blind to masked cells, exact shot counts, per-shot losses,
spec errors), as tests."""
import pytest
import torch
from mmengine.registry import MODELS, DefaultScope
from mmpretrain.models import ConvNeXt
from mmpretrain.models.utils import GRN, SparseHelper

from mmmaskreuse.models import FCMAE, MultiShotSparseConvNeXt
from mmmaskreuse.models.backbones import MaskedGRN

# 8 to 64 channels, one block a stage: 32-px cells are 8 x 8 positions of
# stage 0, 1 x 1 of stage 3
TINY = dict(arch=dict(depths=[1, 1, 1, 1], channels=[8, 16, 32, 64]))


def build(cfg):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg)


def fcmae(norm_pix=True, **shots):
    model = build(dict(
        type='mmmaskreuse.FCMAE',
        backbone=dict(type='mmmaskreuse.MultiShotSparseConvNeXt', **TINY,
                      **shots),
        neck=dict(type='mmmaskreuse.FCMAEDecoder', in_channels=64,
                  embed_dims=32),
        head=dict(type='MAEPretrainHead', norm_pix=norm_pix, patch_size=32,
                  loss=dict(type='PixelReconstructionLoss',
                            criterion='L2'))))
    model.init_weights()
    return model


def encoder(**shots):
    backbone = MultiShotSparseConvNeXt(**TINY, **shots)
    backbone.init_weights()
    # GRN starts as the identity (gamma = beta = 0): make it act
    for stage in backbone.stages:
        for block in stage:
            torch.nn.init.normal_(block.grn.gamma)
            torch.nn.init.normal_(block.grn.beta)
    backbone.eval()  # ConvNeXt's train() returns nothing
    return backbone


def run(backbone, images, seed, noise_into=None):
    """Every stage's output and the shot masks, for the random draw of
    ``seed``; ``noise_into=(module, positions [B, 1, H, W])`` adds noise to
    that module's output at those positions."""
    outs = []
    handles = [stage.register_forward_hook(
        lambda module, args, out: outs.append(out))
        for stage in backbone.stages]
    if noise_into is not None:
        module, positions = noise_into
        handles.append(module.register_forward_hook(
            lambda module, args, out: out + 5 * torch.randn_like(out) *
            positions))
    torch.manual_seed(seed)
    try:
        _, shot_masks = backbone(images)
    finally:
        for handle in handles:
            handle.remove()
    return outs, shot_masks


def cells(shot_mask, side):
    """[B, L] cells -> [B, 1, side, side] positions."""
    grid = int(shot_mask.shape[1]**0.5)
    cell = shot_mask.view(-1, 1, grid, grid)
    return cell.repeat_interleave(side // grid, 2).repeat_interleave(
        side // grid, 3)


@torch.no_grad()
def test_224px_two_shot_masks_30_then_2_of_49_cells():
    # L(0, 3; 0.6, 0.1) at 224 px: 7 x 7 cells; FCMAE keeps int(49 * 0.4)
    # = 19, shot 2 keeps int(19 * 0.9) = 17 before stage 3
    backbone = encoder(mask_layers=(0, 3), mask_ratios=(0.6, 0.1))
    images = torch.randn(2, 3, 224, 224)
    outs, (shot1, shot2) = run(backbone, images, seed=0)
    assert shot1.sum(1).tolist() == [30, 30]
    assert shot2.sum(1).tolist() == [2, 2]
    assert not (shot1 * shot2).any()
    assert [out.shape[2] for out in outs] == [56, 28, 14, 7]
    # zero exactly where masked: shot 1's cells from the stem on, shot 2's
    # from stage 3 on; every other position carries something
    for out, masked in zip(outs, [shot1] * 3 + [shot1 + shot2]):
        zero = (out == 0).all(1, keepdim=True)
        assert torch.equal(zero, cells(masked, out.shape[2]).bool())


@torch.no_grad()
def test_pixels_of_shot1_cells_reach_nothing_the_encoder_outputs():
    backbone = encoder(mask_layers=(0, 2), mask_ratios=(0.6, 0.5))
    images = torch.randn(2, 3, 96, 96)
    outs, (shot1, _) = run(backbone, images, seed=1)
    changed = images + 5 * torch.randn_like(images) * cells(shot1, 96)
    for out, out_changed in zip(outs, run(backbone, changed, seed=1)[0]):
        assert torch.equal(out, out_changed)
    # the check can fail: a visible cell's pixels do reach them
    visible = images + 5 * torch.randn_like(images) * cells(1 - shot1, 96)
    assert not torch.equal(run(backbone, visible, seed=1)[0][3], outs[3])


@torch.no_grad()
def test_features_at_shot2_cells_reach_nothing_after_its_stage():
    backbone = encoder(mask_layers=(0, 2), mask_ratios=(0.6, 0.5))
    images = torch.randn(2, 3, 96, 96)
    outs, (shot1, shot2) = run(backbone, images, seed=2)
    # 96 px: 9 cells, 6 masked at the input, then 2 of the 3 left
    assert shot2.sum(1).tolist() == [2, 2]
    # what enters stage 2: the output of its downsampling layer, 6 x 6
    into_stage2 = backbone.downsample_layers[2]
    changed = run(backbone, images, seed=2,
                  noise_into=(into_stage2, cells(shot2, 6)))[0]
    for stage in (2, 3):
        assert torch.equal(changed[stage], outs[stage])
    visible = cells(1 - shot1 - shot2, 6)
    changed = run(backbone, images, seed=2, noise_into=(into_stage2,
                                                        visible))[0]
    assert not torch.equal(changed[3], outs[3])


@torch.no_grad()
def test_grn_statistics_skip_masked_positions():
    grn = MaskedGRN(6)
    torch.nn.init.normal_(grn.gamma)
    torch.nn.init.normal_(grn.beta)
    reference = GRN(6)
    reference.load_state_dict(grn.state_dict())
    SparseHelper._cur_active = (torch.rand(2, 1, 2, 2) > 0.5).float()
    active = SparseHelper._get_active_map_or_index(H=4)  # [2, 1, 4, 4]
    x = torch.randn(2, 4, 4, 6)  # channel_last, as the blocks call it
    garbage = x + 9 * torch.randn_like(x) * (1 - active.permute(0, 2, 3, 1))
    expected = reference(x * active.permute(0, 2, 3, 1), 'channel_last')
    for inputs in (x, garbage):
        out = grn(inputs, 'channel_last') * active.permute(0, 2, 3, 1)
        torch.testing.assert_close(out,
                                   expected * active.permute(0, 2, 3, 1))
    # channel_first too
    torch.testing.assert_close(
        grn(garbage.permute(0, 3, 1, 2)) * active,
        expected.permute(0, 3, 1, 2) * active)


@torch.no_grad()
def test_without_mask_it_is_the_dense_convnext_v2():
    ours = encoder(mask_layers=(0, 3), mask_ratios=(0.6, 0.1))
    dense = ConvNeXt(**TINY, use_grn=True, layer_scale_init_value=0.)
    missing, unexpected = dense.load_state_dict(ours.state_dict(),
                                                strict=False)
    assert missing == ['norm3.weight', 'norm3.bias'] and not unexpected
    dense.eval()
    dense_out = []
    dense.stages[3].register_forward_hook(
        lambda module, args, out: dense_out.append(out))
    images = torch.randn(1, 3, 64, 64)
    dense(images)
    torch.testing.assert_close(ours(images, mask=False)[0], dense_out[0])


def test_each_shot_loss_is_logged_and_the_loss_covers_their_union():
    # raw pixels, each of the 9 cells at its own scale, so that the shots'
    # losses differ
    model = fcmae(norm_pix=False, mask_layers=(0, 3), mask_ratios=(0.6, 0.5))
    scale = cells(torch.arange(1., 10.).view(1, 9), 96)  # [1, 1, 96, 96]
    images = torch.randn(2, 3, 96, 96) * scale
    torch.manual_seed(0)
    losses = model.loss(images)
    assert set(losses) == {'loss', 'rec_shot1', 'rec_shot2'}
    assert not losses['rec_shot2'].requires_grad
    assert abs(losses['rec_shot1'] - losses['rec_shot2']) > 1
    # MSE per masked cell: the union's loss is the cell-weighted mean
    torch.testing.assert_close(
        losses['loss'],
        (6 * losses['rec_shot1'] + 2 * losses['rec_shot2']) / 8)
    losses['loss'].backward()
    assert model.backbone.stages[0][0].pointwise_conv1.weight.grad.abs(
    ).sum() > 0


@pytest.mark.parametrize('spec,message', [
    (dict(mask_layers=(0, 4)), r'< the depth 4 \(stages.*\(0, 4\)'),
    (dict(mask_layers=(2, 3)), r'mask_layers\[0\] must be 0.*\(2, 3\)'),
    (dict(mask_ratios=(0.6, 1.5)), r'in \[0, 1\).*\(0.6, 1.5\)'),
    (dict(mask_ratios=(0.6, )), r'one entry per shot.*mask_ratios=\(0.6,\)'),
    (dict(mask_patch_size=16), r'multiple of the encoder stride 32.*'
     r'mask_patch_size=16'),
])
def test_bad_shot_specs_fail_at_build_naming_the_value(spec, message):
    backbone = dict(type='mmmaskreuse.MultiShotSparseConvNeXt', **TINY,
                    mask_layers=(0, 3), mask_ratios=(0.6, 0.1))
    backbone.update(spec)
    with pytest.raises(ValueError, match=message):
        build(backbone)


def test_fcmae_refuses_a_head_of_another_cell_size_and_odd_images():
    with pytest.raises(ValueError, match='head.patch_size=16 must be the '
                       'backbone mask_patch_size=32'):
        FCMAE(backbone=dict(type='mmmaskreuse.MultiShotSparseConvNeXt',
                            **TINY),
              neck=dict(type='mmmaskreuse.FCMAEDecoder', in_channels=64),
              head=dict(type='MAEPretrainHead', patch_size=16,
                        loss=dict(type='PixelReconstructionLoss',
                                  criterion='L2')))
    with pytest.raises(ValueError, match=r'sides \(80, 80\) must be '
                       'multiples of mask_patch_size=32'):
        encoder()(torch.randn(1, 3, 80, 80))


def test_checkpointed_blocks_get_the_gradients_of_plain_ones():
    """``with_cp`` recomputes every block in the backward pass, after the
    second shot changed the active map: each block must be recomputed with
    its own stage's map, so that the gradients (input and weights) are
    those without checkpointing."""
    shots = dict(mask_layers=(0, 2), mask_ratios=(0.5, 0.5))
    torch.manual_seed(0)
    plain = encoder(**shots)
    checkpointed = encoder(**shots, with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    images = torch.randn(2, 3, 128, 128)  # 16 cells: 8 kept, then 4
    grads = []
    for model in (plain, checkpointed):
        inputs = images.clone().requires_grad_()
        torch.manual_seed(1)  # the same shots
        (outs, ), shot_masks = model(inputs)
        assert shot_masks[1].sum() == 2 * 4
        torch.manual_seed(2)
        (outs * torch.randn_like(outs)).sum().backward()
        grads.append({'inputs': inputs.grad, **{
            name: param.grad for name, param in model.named_parameters()}})
    assert grads[0]['inputs'].abs().sum() > 0
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, msg=name)
