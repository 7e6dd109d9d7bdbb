# Vanilla twin of maskanynet/swin-t_ade20k_upernet.py: mmseg's Swin-T UperNet
# recipe (AdamW, 160k iterations, 8 GPUs x 2 crops).
_base_ = 'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py'  # noqa
custom_imports = dict(imports=['mmmaskreuse'], allow_failed_imports=False)

# mmpretrain's Swin-T (the same network as mmseg's), the trunk of
# MaskSwin, so the twins differ by the method only; ImageNet weights from
# mmpretrain's model zoo.
swin_tiny = ('https://download.openmmlab.com/mmclassification/v0/'
             'swin-transformer/swin_tiny_224_b16x64_300e_imagenet_'
             '20210616_090925-66df6be6.pth')
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.SwinTransformer',
        arch='tiny',
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3),
        # windows over maps smaller than 7x7 are padded, as mmdet's and
        # mmseg's Swin do
        pad_small_map=True,
        init_cfg=dict(
            type='Pretrained', checkpoint=swin_tiny, prefix='backbone.')))
# weights the ImageNet checkpoint lacks: the outputs of stages 0-2 (and the
# reuse branch of the MaskAnyNet twin, which inherits this); norm3 may be the
# `norm` of an mmcls 0.x checkpoint, which SwinTransformer (and MaskSwin)
# rename on load
custom_hooks = [
    dict(type='mmmaskreuse.CheckPretrainedWeightsHook',
         allow_missing=('norm0.', 'norm1.', 'norm2.', 'norm3.',
                        'reuse_patch_embed.', 'reuse_fusion.'))
]
