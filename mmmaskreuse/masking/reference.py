"""Slow per-image numpy reference of :func:`mask_and_reuse`.

Used only by the tests and benchmarks to check the batched torch version;
it loops over images and cells in Python. Never use it in training.
"""
from typing import Sequence, Tuple

import numpy as np


def reference_mask_and_reuse_numpy(
        images_np: np.ndarray,
        cell_mask_np: np.ndarray,
        reuse_grid: Sequence[int],
        fill_value: float = 0.) -> Tuple[np.ndarray, np.ndarray]:
    """Mask cells and stitch them into reuse images, one cell at a time.

    Args:
        images_np (np.ndarray): Images of shape [B, C, H, W].
        cell_mask_np (np.ndarray): Bool mask of shape [B, gh, gw].
        reuse_grid (tuple[int, int]): Cells ``(rh, rw)`` of the reuse image.
        fill_value (float): Value of the masked pixels. Defaults to 0.

    Returns:
        tuple[np.ndarray, np.ndarray]: masked [B, C, H, W] and reuse
        [B, C, rh * ch, rw * cw], with cells of ``ch x cw`` pixels.
    """
    batch, channels, height, width = images_np.shape
    gh, gw = cell_mask_np.shape[1:]
    ch, cw = height // gh, width // gw
    rh, rw = reuse_grid
    masked = images_np.copy()
    reuse = np.empty((batch, channels, rh * ch, rw * cw), images_np.dtype)
    for b in range(batch):
        k = 0  # masked cells seen so far, in raster order
        for i in range(gh):
            for j in range(gw):
                if not cell_mask_np[b, i, j]:
                    continue
                cell = images_np[b, :, i * ch:(i + 1) * ch,
                                 j * cw:(j + 1) * cw]
                r, c = divmod(k, rw)
                reuse[b, :, r * ch:(r + 1) * ch, c * cw:(c + 1) * cw] = cell
                masked[b, :, i * ch:(i + 1) * ch,
                       j * cw:(j + 1) * cw] = fill_value
                k += 1
        assert k == rh * rw, f'sample {b} masks {k} cells, not {rh * rw}'
    return masked, reuse
