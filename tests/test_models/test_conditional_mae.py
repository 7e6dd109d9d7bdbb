"""Conditional MAE: the paper's claims about multi-shot masking, as tests."""
import pytest
import torch
from mmengine.registry import MODELS, DefaultScope
from mmpretrain.models import VisionTransformer
from mmpretrain.models.selfsup import MAE, MAEViT
from torch import nn

from mmmaskreuse.models import ConditionalMAE, MultiShotMAEViT

# a small ViT: 32x32 images, 8x8 patches -> 16 patch tokens, 4 blocks
TINY_ARCH = dict(embed_dims=64, num_layers=4, num_heads=4,
                 feedforward_channels=128)
TINY = dict(arch=TINY_ARCH, img_size=32, patch_size=8)


def decoder_and_head(embed_dims=64, num_patches=16, patch_size=8):
    neck = dict(type='MAEPretrainDecoder', num_patches=num_patches,
                patch_size=patch_size, embed_dim=embed_dims,
                decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=4)
    head = dict(type='MAEPretrainHead', norm_pix=True, patch_size=patch_size,
                loss=dict(type='PixelReconstructionLoss', criterion='L2'))
    return neck, head


def build(cfg):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg)


def conditional_mae(mask_layers, mask_ratios, shot_loss_weights=None,
                    **backbone):
    neck, head = decoder_and_head()
    return build(dict(
        type='mmmaskreuse.ConditionalMAE',
        backbone=dict(type='mmmaskreuse.MultiShotMAEViT', **TINY,
                      mask_layers=mask_layers, mask_ratios=mask_ratios,
                      **backbone),
        neck=neck, head=head, shot_loss_weights=shot_loss_weights))


def transparent(backbone):
    """Make every encoder block and the final norm the identity, so each
    latent token is exactly its patch embedding plus position: which patch
    a token came from can be read off the token itself."""
    backbone.layers = nn.ModuleList(nn.Identity() for _ in backbone.layers)
    backbone.ln1 = nn.Identity()
    return backbone


def patch_tokens(backbone, images):
    """[B, L, C] the tokens every patch enters the encoder with."""
    return backbone.patch_embed(images)[0] + backbone.pos_embed[:, 1:]


def patches_of(tokens, all_tokens):
    """[B, N] the patch each of ``tokens`` [B, N, C] is, found by value."""
    distance = torch.cdist(tokens, all_tokens)  # [B, N, L]
    assert (distance.min(-1).values < 1e-5).all(), 'token of no patch'
    return distance.argmin(-1)


def as_mask(patch_ids, num_patches):
    """[B, L] with 1 at the listed patches."""
    mask = torch.zeros(patch_ids.shape[0], num_patches)
    return mask.scatter_(1, patch_ids, 1.0)


@pytest.mark.parametrize('mask_layers,mask_ratios,drop_path_rate', [
    ((0, ), (0.75, ), 0.0),
    ((0, ), (0.6, ), 0.2),  # drop path draws random numbers inside blocks
    ((0, 2), (0.75, 0.0), 0.2),  # a second shot of ratio 0
])
def test_one_shot_equals_mmpretrain_mae(mask_layers, mask_ratios,
                                        drop_path_rate):
    neck, head = decoder_and_head()
    torch.manual_seed(0)
    mae = build(dict(type='MAE', backbone=dict(
        type='MAEViT', **TINY, mask_ratio=mask_ratios[0],
        drop_path_rate=drop_path_rate), neck=neck, head=head))
    mae.init_weights()
    ours = conditional_mae(mask_layers, mask_ratios,
                           drop_path_rate=drop_path_rate)
    ours.load_state_dict(mae.state_dict(), strict=True)
    mae.train()
    ours.train()
    images = torch.randn(4, 3, 32, 32)

    torch.manual_seed(1)
    mae_loss = mae.loss(images, None)['loss']
    torch.manual_seed(1)
    our_losses = ours.loss(images, None)
    torch.testing.assert_close(our_losses['loss'], mae_loss)
    assert 'rec_shot2' not in our_losses  # ratio 0 masks nothing

    torch.manual_seed(1)
    mae_latent, mae_mask, mae_restore = mae.backbone(images)
    torch.manual_seed(1)
    latent, mask, ids_restore, shot_masks = ours.backbone(images)
    torch.testing.assert_close(latent, mae_latent)
    assert torch.equal(mask, mae_mask)
    assert torch.equal(ids_restore, mae_restore)
    assert torch.equal(shot_masks[0], mae_mask)


@torch.no_grad()
def test_vit_b16_two_shot_keeps_the_tokens_the_ratios_imply():
    # L(0, 10; 0.75, 0.1) at 224x224: 196 patches, 196 * 0.25 = 49 after
    # shot 1, int(49 * 0.9) = 44 after shot 2, plus the cls token
    backbone = MultiShotMAEViT(arch='b', img_size=224, patch_size=16,
                               mask_layers=(0, 10), mask_ratios=(0.75, 0.1))
    backbone.train()
    tokens_into_block = {}
    for index, layer in enumerate(backbone.layers):
        layer.register_forward_pre_hook(
            lambda module, args, index=index: tokens_into_block.update(
                {index: args[0].shape[1]}))
    latent, mask, _, (shot1, shot2) = backbone(torch.randn(2, 3, 224, 224))
    assert tokens_into_block == {
        **{index: 1 + 49 for index in range(10)},
        10: 1 + 44, 11: 1 + 44
    }
    assert latent.shape == (2, 1 + 44, 768)
    assert mask.sum(1).tolist() == [196 - 44] * 2
    assert shot1.sum(1).tolist() == [147] * 2
    assert shot2.sum(1).tolist() == [5] * 2


@torch.no_grad()
def test_each_shot_masks_patches_still_visible_and_target_is_the_union():
    backbone = transparent(MultiShotMAEViT(
        **TINY, mask_layers=(0, 1, 3), mask_ratios=(0.5, 0.25, 0.5)))
    images = torch.randn(3, 3, 32, 32)
    all_tokens = patch_tokens(backbone, images)
    visible_before = {}  # shot block -> [B, L] patches visible before it
    for index in (1, 3):
        # the output of the block before: what the shot chooses from
        backbone.layers[index - 1].register_forward_hook(
            lambda module, args, out, index=index: visible_before.update(
                {index: as_mask(patches_of(out[:, 1:], all_tokens), 16)}))
    latent, mask, _, shot_masks = backbone(images)
    visible_after = as_mask(patches_of(latent[:, 1:], all_tokens), 16)
    everything = torch.ones(3, 16)
    # 16 -> 8 -> 6 -> 3 visible patches
    assert visible_before[1].sum(1).tolist() == [8] * 3
    assert visible_before[3].sum(1).tolist() == [6] * 3
    assert torch.equal(shot_masks[0], everything - visible_before[1])
    assert torch.equal(shot_masks[1], visible_before[1] - visible_before[3])
    assert torch.equal(shot_masks[2], visible_before[3] - visible_after)
    assert torch.equal(mask, everything - visible_after)
    assert torch.equal(mask, sum(shot_masks))  # disjoint, and their union


@torch.no_grad()
def test_decoder_sees_every_masked_patch_as_a_mask_token():
    model = conditional_mae((0, 2), (0.5, 0.5))
    model.init_weights()
    transparent(model.backbone)
    decoder = model.neck
    images = torch.randn(2, 3, 32, 32)
    seen = {}
    decoder.decoder_blocks[0].register_forward_pre_hook(
        lambda module, args: seen.update(tokens=args[0]))
    latent, mask, ids_restore, _ = model.backbone(images)
    decoder(latent, ids_restore)
    # [B, L, C'] what the decoder holds at each patch, cls token dropped
    at_patch = (seen['tokens'] - decoder.decoder_pos_embed)[:, 1:]
    expected_visible = decoder.decoder_embed(
        patch_tokens(model.backbone, images))  # [B, L, C']
    masked = mask.bool()
    assert masked.sum(1).tolist() == [12, 12]
    mask_token = decoder.mask_token.reshape(-1)
    torch.testing.assert_close(at_patch[masked],
                               mask_token.expand(24, -1))
    torch.testing.assert_close(at_patch[~masked], expected_visible[~masked])


def test_per_shot_losses_are_logged_and_only_loss_is_optimised():
    model = conditional_mae((0, 2), (0.5, 0.5))
    model.init_weights()
    torch.manual_seed(0)
    losses = model.loss(torch.randn(2, 3, 32, 32), None)
    assert set(losses) == {'loss', 'rec_shot1', 'rec_shot2'}
    assert not losses['rec_shot1'].requires_grad
    total, log_vars = model.parse_losses(losses)
    torch.testing.assert_close(total, losses['loss'])
    assert {'rec_shot1', 'rec_shot2'} <= set(log_vars)
    # the union loss is the patch-weighted mean of the shot losses (8 + 4)
    torch.testing.assert_close(
        losses['loss'].detach(),
        (8 * losses['rec_shot1'] + 4 * losses['rec_shot2']) / 12)
    total.backward()


def test_shot_loss_weights_sum_the_weighted_shot_losses():
    model = conditional_mae((0, 2), (0.75, 0.25), shot_loss_weights=(0.75,
                                                                     0.25))
    model.init_weights()
    torch.manual_seed(0)
    losses = model.loss(torch.randn(2, 3, 32, 32), None)
    torch.testing.assert_close(
        losses['loss'].detach(),
        0.75 * losses['rec_shot1'] + 0.25 * losses['rec_shot2'])
    losses['loss'].backward()
    assert model.backbone.layers[0].ffn.layers[1].weight.grad is not None


@torch.no_grad()
def test_without_mask_it_is_the_plain_vision_transformer():
    ours = MultiShotMAEViT(**TINY, mask_layers=(0, 2),
                           mask_ratios=(0.75, 0.1), out_type='cls_token')
    ours.init_weights()
    plain = VisionTransformer(**TINY, out_type='cls_token')
    plain.load_state_dict(ours.state_dict())
    mae_vit = MAEViT(**TINY, out_type='cls_token')
    mae_vit.load_state_dict(ours.state_dict())
    for module in (ours, plain, mae_vit):
        module.eval()
    images = torch.randn(2, 3, 32, 32)
    expected = plain(images)[0]
    torch.testing.assert_close(ours(images, mask=None)[0], expected)
    torch.testing.assert_close(ours(images, mask=False)[0], expected)
    torch.testing.assert_close(mae_vit(images, mask=None)[0], expected)


@pytest.mark.parametrize('spec,message', [
    (dict(mask_ratios=(0.75, 1.0)), r'in \[0, 1\).*\(0.75, 1.0\)'),
    (dict(mask_ratios=(-0.1, 0.1)), r'in \[0, 1\).*\(-0.1, 0.1\)'),
    (dict(mask_layers=(0, 2, 2), mask_ratios=(0.5, 0.1, 0.1)),
     r'strictly increasing.*\(0, 2, 2\)'),
    (dict(mask_layers=(0, 3, 2), mask_ratios=(0.5, 0.1, 0.1)),
     r'strictly increasing.*\(0, 3, 2\)'),
    (dict(mask_layers=(0, 4)), r'< the depth 4.*\(0, 4\)'),
    (dict(mask_layers=(1, 2)), r'mask_layers\[0\] must be 0.*\(1, 2\)'),
    (dict(mask_ratios=(0.75, )), r'one entry per shot.*mask_layers=\(0, 2\)'
     r'.*mask_ratios=\(0.75,\)'),
    (dict(mask_layers=(), mask_ratios=()), r'non-empty.*mask_layers=\(\)'),
    (dict(mask_layers=(0, 1.5)), r'ints.*mask_layers=\(0, 1.5\)'),
    (dict(mask_ratios=(0.95, 0.5)), r'leave no patch token of 16'),
    (dict(mask_ratio=0.75), r'mask_ratios.*not\s+mask_ratio=0.75'),
])
def test_bad_shot_specs_fail_at_build_naming_the_value(spec, message):
    backbone = dict(type='mmmaskreuse.MultiShotMAEViT', **TINY,
                    mask_layers=(0, 2), mask_ratios=(0.75, 0.1))
    backbone.update(spec)
    with pytest.raises(ValueError, match=message):
        build(backbone)


@pytest.mark.parametrize('weights', [(1.0, ), (0.5, -0.1), (0, 0), 'ratios'])
def test_bad_shot_loss_weights_fail_at_build(weights):
    with pytest.raises(ValueError, match='shot_loss_weights must be 2'):
        conditional_mae((0, 2), (0.75, 0.1), shot_loss_weights=weights)


def test_conditional_mae_refuses_a_single_shot_mae_backbone():
    neck, head = decoder_and_head()
    with pytest.raises(ValueError, match='MultiShotMAEViT backbone, got '
                       'MAEViT'):
        ConditionalMAE(backbone=MAEViT(**TINY), neck=neck, head=head)
    assert issubclass(ConditionalMAE, MAE)
