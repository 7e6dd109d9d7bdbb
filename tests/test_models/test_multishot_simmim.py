"""Two-shot SimMIM on a Swin: the issue's claims (one shot is SimMIM, no
leak, exact shot counts, per-shot losses, spec errors), as tests."""
import numpy as np
import pytest
import torch
from mmengine.registry import MODELS, DefaultScope
from mmpretrain.datasets.transforms import SimMIMMaskGenerator
from mmpretrain.models import SwinTransformer
from mmpretrain.models.selfsup import SimMIM, SimMIMSwinTransformer
from mmpretrain.structures import DataSample

from mmmaskreuse.models import MultiShotSimMIM, MultiShotSimMIMSwin


def tiny_swin(img_size=96, **shots):
    """A 16-wide Swin of 4 one-block stages; windows of 3 (96 px: 24, 12,
    6, 3 positions a side) or 6 (192 px: 48, 24, 12, 6)."""
    return dict(
        arch=dict(embed_dims=16, depths=[1, 1, 1, 1],
                  num_heads=[1, 1, 1, 1]),
        img_size=img_size,
        stage_cfgs=dict(block_cfgs=dict(window_size=img_size // 32)),
        **shots)


def build(cfg):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg)


def simmim(algorithm='mmmaskreuse.MultiShotSimMIM',
           backbone='mmmaskreuse.MultiShotSimMIMSwin', **swin):
    return build(dict(
        type=algorithm,
        backbone=dict(type=backbone, **tiny_swin(**swin)),
        neck=dict(type='SimMIMLinearDecoder', in_channels=16 * 8,
                  encoder_stride=32),
        head=dict(type='SimMIMHead', patch_size=4,
                  loss=dict(type='PixelReconstructionLoss', criterion='L1',
                            channel=3))))


def simmim_masks(batch_size, img_size, mask_ratio=0.6, seed=0):
    """[B, H / 4, W / 4] masks of mmpretrain's SimMIMMaskGenerator."""
    generator = SimMIMMaskGenerator(input_size=img_size, mask_patch_size=32,
                                    model_patch_size=4, mask_ratio=mask_ratio)
    np.random.seed(seed)
    return torch.stack([
        torch.from_numpy(generator.transform({})['mask'])
        for _ in range(batch_size)
    ])


def samples(masks):
    out = []
    for mask in masks:
        sample = DataSample()
        sample.mask = mask
        out.append(sample)
    return out


@pytest.mark.parametrize('drop_path_rate', [0.0, 0.1])
def test_one_shot_equals_mmpretrain_simmim(drop_path_rate):
    torch.manual_seed(0)
    theirs = simmim('SimMIM', 'SimMIMSwinTransformer',
                    drop_path_rate=drop_path_rate)
    theirs.init_weights()
    ours = simmim(mask_layers=(0, ), mask_ratios=(0.6, ),
                  drop_path_rate=drop_path_rate)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    images = torch.randn(2, 3, 96, 96)
    data = samples(simmim_masks(2, 96))
    torch.manual_seed(1)
    expected = theirs.loss(images, data)['loss']
    torch.manual_seed(1)
    losses = ours.loss(images, data)
    assert torch.equal(losses['loss'], expected)
    assert torch.equal(losses['rec_shot1'], expected.detach())
    assert set(losses) == {'loss', 'rec_shot1'}


@torch.no_grad()
def test_192px_two_shot_masks_22_then_2_of_36_cells():
    # L(0, 3; 0.6, 0.1) at 192 px: 6 x 6 cells of 32 px; SimMIM masks
    # ceil(36 * 0.6) = 22, shot 2 keeps int(14 * 0.9) = 12 of the 14 left
    backbone = MultiShotSimMIMSwin(**tiny_swin(192, mask_layers=(0, 3),
                                               mask_ratios=(0.6, 0.1)))
    backbone.init_weights()
    token = backbone.stage_mask_tokens[0].view(-1)  # [128]
    into_stage = {}
    for index, stage in enumerate(backbone.stages):
        # registered after the shot's own hook: sees what the stage gets
        stage.register_forward_pre_hook(
            lambda module, args, index=index: into_stage.update(
                {index: args[0]}))
    masks = simmim_masks(3, 192)
    outs, (shot1, shot2) = backbone(torch.randn(3, 3, 192, 192), masks)
    assert outs[0].shape == (3, 128, 6, 6)
    assert [tuple(into_stage[i].shape[1:]) for i in range(4)] == [
        (48 * 48, 16), (24 * 24, 32), (12 * 12, 64), (6 * 6, 128)]
    assert torch.equal(shot1, masks.float())
    # a cell is 8 x 8 positions of the 48 x 48 mask
    assert shot1.sum((1, 2)).tolist() == [22 * 64] * 3
    assert shot2.sum((1, 2)).tolist() == [2 * 64] * 3
    assert not (shot1 * shot2).any()  # shot 2 picks still-visible cells
    # stage 3 (one position a cell) gets the token exactly at shot 2's cells
    is_token = (into_stage[3] == token).all(-1).view(3, 6, 6)
    assert torch.equal(is_token, shot2[:, ::8, ::8].bool())
    # and no earlier stage gets a later shot's token
    for index in range(3):
        assert not (into_stage[index][..., :1] ==
                    backbone.stage_mask_tokens[0][..., :1]).all(-1).any()


def perturb_cells(images, cell_mask, cell=32):
    """Noise on the pixels of the cells marked in [B, h, w]."""
    pixels = cell_mask.repeat_interleave(cell, 1).repeat_interleave(cell, 2)
    return images + 5 * torch.randn_like(images) * pixels.unsqueeze(1)


def stage_outputs(backbone, *args):
    """Every stage's output (``SimMIMSwinTransformer`` only returns the last
    one: its norms of the other stages do not fit their merged output)."""
    outs = []
    handles = [
        stage.register_forward_hook(
            lambda module, args, out: outs.append(out[0]))
        for stage in backbone.stages
    ]
    try:
        backbone(*args)
    finally:
        for handle in handles:
            handle.remove()
    return outs


def two_images_and_masks(mask_layers):
    """A tiny L(mask_layers; 0.6, 0.5) Swin in eval mode, two 96-px images
    and SimMIM masks for them."""
    backbone = MultiShotSimMIMSwin(**tiny_swin(mask_layers=mask_layers,
                                               mask_ratios=(0.6, 0.5)))
    backbone.init_weights()
    backbone.eval()
    return backbone, torch.randn(2, 3, 96, 96), simmim_masks(2, 96)


@torch.no_grad()
def test_pixels_of_shot1_cells_reach_nothing_the_encoder_outputs():
    backbone, images, masks = two_images_and_masks(mask_layers=(0, 3))
    torch.manual_seed(3)
    outs = stage_outputs(backbone, images, masks)
    changed = perturb_cells(images, masks[:, ::8, ::8].bool())
    torch.manual_seed(3)
    for out, out_changed in zip(outs,
                                stage_outputs(backbone, changed, masks)):
        assert torch.equal(out, out_changed)
    # the check can fail: a still-visible cell's pixels do reach them
    visible = perturb_cells(images, ~masks[:, ::8, ::8].bool())
    torch.manual_seed(3)
    assert not torch.equal(stage_outputs(backbone, visible, masks)[3],
                           outs[3])


@torch.no_grad()
def test_features_at_shot2_cells_reach_nothing_after_its_stage():
    backbone, images, masks = two_images_and_masks(mask_layers=(0, 2))
    torch.manual_seed(4)
    _, (_, shot2) = backbone(images, masks)
    torch.manual_seed(4)
    outs = stage_outputs(backbone, images, masks)
    # 9 cells, SimMIM masks 6; shot 2 masks 3 - int(3 * 0.5) = 2 of the rest
    assert shot2.sum((1, 2)).tolist() == [2 * 64] * 2

    def run_with_noise_at(positions):
        """Every stage's output with noise at ``positions`` [B, 6, 6] of
        stage 2's input (stage 1's output, after its patch merging)."""
        weight = positions.flatten(1).unsqueeze(-1).float()
        handle = backbone.stages[1].register_forward_hook(
            lambda module, args, out: (
                out[0] + 5 * torch.randn_like(out[0]) * weight, out[1]))
        torch.manual_seed(4)
        try:
            return stage_outputs(backbone, images, masks)
        finally:
            handle.remove()

    # a cell is 2 x 2 positions of stage 2's 6 x 6
    at_shot2 = shot2[:, ::4, ::4].bool()
    changed = run_with_noise_at(at_shot2)
    assert not torch.equal(changed[1], outs[1])  # the noise is there
    for stage in (2, 3):
        assert torch.equal(changed[stage], outs[stage])
    visible = ~(at_shot2 | masks[:, ::4, ::4].bool())
    assert not torch.equal(run_with_noise_at(visible)[3], outs[3])


def test_each_shot_loss_is_logged_and_the_loss_covers_their_union():
    model = simmim(mask_layers=(0, 3), mask_ratios=(0.6, 0.5))
    model.init_weights()
    data = samples(simmim_masks(2, 96))
    losses = model.loss(torch.randn(2, 3, 96, 96), data)
    assert set(losses) == {'loss', 'rec_shot1', 'rec_shot2'}
    assert not losses['rec_shot2'].requires_grad
    # 96 px: 9 cells, SimMIM masks 6, shot 2 masks 3 - int(3 * 0.5) = 2;
    # L1 per masked pixel, so the union is the cell-weighted mean
    torch.testing.assert_close(
        losses['loss'],
        (6 * losses['rec_shot1'] + 2 * losses['rec_shot2']) / 8)
    # mmengine optimises the loss alone and logs the shots next to it
    optimised, log_vars = model.parse_losses(losses)
    assert torch.equal(optimised, losses['loss'])
    assert {'rec_shot1', 'rec_shot2'} <= set(log_vars)


@torch.no_grad()
def test_without_mask_it_is_the_plain_swin():
    ours = MultiShotSimMIMSwin(**tiny_swin(mask_layers=(0, 3),
                                           mask_ratios=(0.6, 0.1)))
    ours.init_weights()
    plain = SwinTransformer(**tiny_swin())
    missing, unexpected = plain.load_state_dict(ours.state_dict(),
                                                strict=False)
    assert not missing
    assert unexpected == ['mask_token', 'stage_mask_tokens.0']
    ours.eval()
    plain.eval()
    images = torch.randn(1, 3, 96, 96)
    assert torch.equal(ours(images, None)[0], plain(images)[0])


@pytest.mark.parametrize('spec,message', [
    (dict(mask_layers=(0, 4)), r'< the depth 4 \(stages.*\(0, 4\)'),
    (dict(mask_layers=(1, 3)), r'mask_layers\[0\] must be 0.*\(1, 3\)'),
    (dict(mask_ratios=(0.6, 1.0)), r'in \[0, 1\).*\(0.6, 1.0\)'),
    (dict(mask_ratios=(0.6, )), r'one entry per shot.*mask_ratios=\(0.6,\)'),
    (dict(mask_layers=(0, 3, 3), mask_ratios=(0.6, 0.1, 0.1)),
     r'strictly increasing.*\(0, 3, 3\)'),
    (dict(mask_patch_size=24), r'multiple of the encoder stride 32.*'
     r'mask_patch_size=24'),
])
def test_bad_shot_specs_fail_at_build_naming_the_value(spec, message):
    backbone = dict(type='mmmaskreuse.MultiShotSimMIMSwin',
                    **tiny_swin(mask_layers=(0, 3), mask_ratios=(0.6, 0.1)))
    backbone.update(spec)
    with pytest.raises(ValueError, match=message):
        build(backbone)


def test_a_mask_of_another_ratio_than_shot1_is_refused():
    model = simmim(mask_layers=(0, 3), mask_ratios=(0.6, 0.1))
    data = samples(simmim_masks(2, 96, mask_ratio=0.4))
    with pytest.raises(ValueError, match=r'mask_ratios\[0\]=0.6 masks 6 of '
                       r'the 9 cells, the mask masks \[4, 4\]'):
        model.loss(torch.randn(2, 3, 96, 96), data)


def test_multishot_simmim_refuses_simmims_own_swin():
    with pytest.raises(ValueError, match='MultiShotSimMIMSwin backbone, '
                       'got SimMIMSwinTransformer'):
        simmim(backbone='SimMIMSwinTransformer')
    assert issubclass(MultiShotSimMIM, SimMIM)
    assert issubclass(MultiShotSimMIMSwin, SimMIMSwinTransformer)
