"""Build-time check that backbone and data preprocessor agree on masking."""
import torch.nn as nn

_TASK_PREPROCESSORS = {
    'ClsDataPreprocessor': 'mmmaskreuse.MaskReuseClsDataPreprocessor',
    'DetDataPreprocessor': 'mmmaskreuse.MaskReuseDetDataPreprocessor',
    'SegDataPreProcessor': 'mmmaskreuse.MaskReuseSegDataPreprocessor',
}


def _masking_preprocessor_for(preprocessor: nn.Module) -> str:
    for base in type(preprocessor).__mro__:
        if base.__name__ in _TASK_PREPROCESSORS:
            return _TASK_PREPROCESSORS[base.__name__]
    return ' or '.join(sorted(_TASK_PREPROCESSORS.values()))


def check_masked_pairing(model: nn.Module) -> None:
    """Raise if a MaskAnyNet backbone lacks its masking data preprocessor,
    if a masking data preprocessor feeds a backbone that takes plain
    images, if the two disagree on ``mask_ratio``, or if both ask for a
    test-time ablation of the reuse branch.

    The tools call it right after building the model, so a wrong config
    fails before the first iteration with the fix in the message.

    Args:
        model (nn.Module): The built model (wrapped or not).
    """
    model = getattr(model, 'module', model)
    preprocessor = getattr(model, 'data_preprocessor', None)
    makes_pair = getattr(preprocessor, 'makes_masked_inputs', False)
    takers = [
        m for m in model.modules() if getattr(m, 'takes_masked_inputs', False)
    ]
    if takers and not makes_pair:
        raise ValueError(
            f'backbone {type(takers[0]).__name__} needs the masked image and '
            'the reuse image in training, but data_preprocessor '
            f'{type(preprocessor).__name__} gives plain images: set '
            'model.data_preprocessor type to '
            f'{_masking_preprocessor_for(preprocessor)}')
    if makes_pair and not takers:
        raise ValueError(
            f'data_preprocessor {type(preprocessor).__name__} makes masked '
            'image + reuse image pairs, but no backbone of the model takes '
            'them: use mmmaskreuse.MaskResNet, MaskResNetCIFAR, MaskViT or '
            "MaskSwin, or the task's plain data preprocessor")
    for taker in takers:
        if taker.mask_ratio != preprocessor.mask_ratio:
            raise ValueError(
                f'backbone {type(taker).__name__} has mask_ratio='
                f'{taker.mask_ratio} but the data preprocessor masks '
                f'mask_ratio={preprocessor.mask_ratio}: set both the same')
        # the backbone feeds its branch the pair's reuse image and would
        # ignore its own setting: two ablations asked, one run
        if getattr(preprocessor, 'other_image_at_test', False) and \
                taker.reuse_at_test != 'downsample':
            raise ValueError(
                'the data preprocessor has other_image_at_test=True but '
                f'backbone {type(taker).__name__} has reuse_at_test='
                f"{taker.reuse_at_test!r}: ask for one ablation, with "
                "reuse_at_test='downsample'")
