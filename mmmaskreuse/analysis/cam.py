"""Grad-CAM of classifiers with the ``grad-cam`` package, as mmpretrain's
``tools/visualization/vis_cam.py`` uses it: the model's logits
(``mode='tensor'``) as the scored output, a layer of the backbone as the
target, ViT tokens reshaped to their patch grid."""
import math
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn


class Logits(nn.Module):
    """An mmpretrain classifier as ``images -> logits`` (no data
    preprocessor: the images come normalised). A MaskAnyNet backbone makes
    its reuse image from them, as in any evaluation."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.model(inputs, mode='tensor')


def find_layer(model: nn.Module, name: str) -> nn.Module:
    """The submodule ``name`` of ``model``, e.g. ``backbone.layer4`` or
    ``backbone.layers.-1`` (an integer picks from a Sequential or a
    ModuleList, negative from the end).

    Raises:
        ValueError: Naming the missing part and what is there.
    """
    module = model
    for part in name.split('.'):
        if part.lstrip('-').isdigit() and isinstance(
                module, (nn.Sequential, nn.ModuleList)):
            index = int(part)
            if not -len(module) <= index < len(module):
                raise ValueError(f'{name}: index {index} out of '
                                 f'{len(module)} modules')
            module = module[index]
        elif hasattr(module, part) and isinstance(
                getattr(module, part), nn.Module):
            module = getattr(module, part)
        else:
            children = ', '.join(n for n, _ in module.named_children())
            raise ValueError(f'{name}: no module {part!r} (there are: '
                             f'{children})')
    return module


def default_target_layer(model: nn.Module) -> str:
    """The layer whose output Grad-CAM weighs by default: the last stage of
    a CNN backbone (``layer4``, ``stages.-1``) or the last block of a
    transformer (``layers.-1``, its tokens reshaped by
    :func:`tokens_to_grid`)."""
    backbone = model.backbone
    for name in ('layer4', 'stages', 'layers'):
        if hasattr(backbone, name):
            return f'backbone.{name}' + ('.-1' if name != 'layer4' else '')
    raise ValueError(
        f'no default target layer for {type(backbone).__name__}: name one '
        'with --target-layer (e.g. backbone.layer4)')


def tokens_to_grid(tokens: torch.Tensor) -> torch.Tensor:
    """``grad-cam``'s ``reshape_transform`` for transformer outputs: [B, L,
    C] tokens (a class token first when L - 1 is a square) -> [B, C, h, w];
    4-d feature maps pass through."""
    if tokens.dim() == 4:
        return tokens
    length = tokens.shape[1]
    for extra in (0, 1):
        side = math.isqrt(length - extra)
        if side * side == length - extra:
            grid = tokens[:, extra:]
            return grid.reshape(len(grid), side, side,
                                -1).permute(0, 3, 1, 2)
    raise ValueError(f'{length} tokens do not form a square patch grid')


def grad_cam(model: nn.Module,
             inputs: torch.Tensor,
             target_layer: str,
             classes: Optional[Sequence[int]] = None) -> np.ndarray:
    """Grad-CAM maps [B, H, W] in [0, 1] of ``model`` on normalised
    ``inputs``, for ``classes`` (one per image; default: the predicted
    ones)."""
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    targets = None if classes is None else [
        ClassifierOutputTarget(int(c)) for c in classes
    ]
    with GradCAM(model=Logits(model),
                 target_layers=[find_layer(model, target_layer)],
                 reshape_transform=tokens_to_grid) as cam:
        return cam(input_tensor=inputs, targets=targets)
