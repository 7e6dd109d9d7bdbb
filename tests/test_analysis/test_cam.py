"""Grad-CAM wiring on a hand-made classifier whose answer is known."""
import pytest
import torch
from torch import nn

from mmmaskreuse.analysis.cam import (default_target_layer, find_layer,
                                      grad_cam, tokens_to_grid)


class TwoCorners(nn.Module):
    """Class 0 scores channel 0, class 1 channel 1 (mean over the image):
    Grad-CAM of class c is channel c of the input."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Module()
        self.backbone.layer4 = nn.Conv2d(2, 2, 1, bias=False)
        with torch.no_grad():
            self.backbone.layer4.weight.copy_(torch.eye(2)[:, :, None, None])

    def forward(self, inputs, mode='tensor'):
        assert mode == 'tensor'
        return self.backbone.layer4(inputs).mean((2, 3))


def test_each_class_lights_up_where_its_channel_is():
    images = torch.zeros(1, 2, 8, 8)
    images[0, 0, :4, :4] = 1  # class 0's evidence: top left
    images[0, 1, 4:, 4:] = 1  # class 1's: bottom right
    model = TwoCorners()
    top_left, bottom_right = (grad_cam(model, images, 'backbone.layer4',
                                       [c])[0] for c in (0, 1))
    assert top_left[:4, :4].min() > 0.99 and top_left[4:, 4:].max() < 0.01
    assert bottom_right[4:, 4:].min() > 0.99
    assert bottom_right[:4, :4].max() < 0.01
    assert default_target_layer(model) == 'backbone.layer4'


def test_find_layer_names_what_is_missing():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    assert isinstance(find_layer(model, '1.-1'), nn.ReLU)
    with pytest.raises(ValueError, match=r"no module 'layer9' \(there are: "
                       r'0, 1\)'):
        find_layer(model, 'layer9')
    with pytest.raises(ValueError, match='index 5 out of 2 modules'):
        find_layer(model, '5')


def test_tokens_go_back_to_their_patch_grid():
    grid = torch.arange(2 * 3 * 4 * 4.).reshape(2, 3, 4, 4)
    tokens = grid.flatten(2).transpose(1, 2)  # [B, 16, C]
    with_cls = torch.cat([torch.full((2, 1, 3), -1.), tokens], 1)
    assert torch.equal(tokens_to_grid(tokens), grid)
    assert torch.equal(tokens_to_grid(with_cls), grid)
    with pytest.raises(ValueError, match='15 tokens'):
        tokens_to_grid(tokens[:, :15][:, :, :])
