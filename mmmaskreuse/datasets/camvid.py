"""CamVid as SegNet prepared it (mmseg 1.2 ships no CamVid dataset)."""
from typing import Optional, Sequence

from mmseg.datasets import BaseSegDataset

from mmmaskreuse.registry import DATASETS


@DATASETS.register_module()
class CamVidDataset(BaseSegDataset):
    """CamVid at 360 x 480 with SegNet's 11 classes.

    The layout is what ``tools/misc/prepare_camvid.py`` writes: images in
    ``img_dir/<split>/*.png`` and label images of the same names in
    ``ann_dir/<split>/*.png``, whose values are the class indices 0-10 and
    ``VOID_LABEL`` (11) for unlabelled pixels. Void is mapped to
    ``ignore_index`` as the labels are read (through the label map that
    mmseg's ``LoadAnnotations`` applies), so it counts in neither the loss
    nor the IoU, as in SegNet's evaluation. The palette is the one SegNet's
    CamVid scripts colour their predictions with.
    """
    VOID_LABEL = 11
    METAINFO = dict(
        classes=('Sky', 'Building', 'Pole', 'Road', 'Pavement', 'Tree',
                 'SignSymbol', 'Fence', 'Car', 'Pedestrian', 'Bicyclist'),
        palette=[[128, 128, 128], [128, 0, 0], [192, 192, 128],
                 [128, 64, 128], [60, 40, 222], [128, 128, 0],
                 [192, 128, 128], [64, 64, 128], [64, 0, 128],
                 [64, 64, 0], [0, 128, 192]])

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=False,
            **kwargs)

    @classmethod
    def get_label_map(cls,
                      new_classes: Optional[Sequence] = None
                      ) -> Optional[dict]:
        """mmseg's label map for a class subset, with void sent to the
        ignore index (255, what ``LoadAnnotations`` and the metric use)."""
        label_map = super().get_label_map(new_classes) or {}
        return {**label_map, cls.VOID_LABEL: 255}
