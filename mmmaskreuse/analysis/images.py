"""Image files for the analysis and visualisation tools: find, pick, load.

Images are loaded with PIL as RGB, resized to a square side and batched as
float tensors [B, 3, S, S] with values in [0, 255].
"""
import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
import torch
from PIL import Image

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif',
                    '.tiff')


def list_images(root: str) -> List[str]:
    """Image files under ``root`` (e.g. class folders ``root/<class>/*``),
    recursively, sorted.

    Raises:
        FileNotFoundError: If ``root`` is not a folder or holds no image.
    """
    if not osp.isdir(root):
        raise FileNotFoundError(f'data folder not found: {root}')
    paths = [
        osp.join(folder, name) for folder, _, names in os.walk(root)
        for name in names if name.lower().endswith(IMAGE_EXTENSIONS)
    ]
    if not paths:
        extensions = ', '.join(IMAGE_EXTENSIONS)
        raise FileNotFoundError(f'no image files ({extensions}) under {root}')
    return sorted(paths)


def pick_images(paths: Sequence[str],
                max_images: Optional[int],
                seed: int = 0) -> List[str]:
    """A seeded random subset of ``max_images`` paths (all of them if None),
    so a few images still span every class folder; kept in sorted order."""
    if max_images is None or max_images >= len(paths):
        return list(paths)
    generator = torch.Generator().manual_seed(seed)
    chosen = torch.randperm(len(paths), generator=generator)[:max_images]
    return [paths[i] for i in sorted(chosen.tolist())]


def load_images(paths: Sequence[str], size: int) -> torch.Tensor:
    """Load images as RGB, resized (bilinear) to ``size x size``.

    Returns:
        Tensor: Float [B, 3, size, size], values in [0, 255].
    """
    images = []
    for path in paths:
        with Image.open(path) as image:
            image = image.convert('RGB')
            if image.size != (size, size):
                image = image.resize((size, size), Image.BILINEAR)
            images.append(np.asarray(image, dtype=np.float32))
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
