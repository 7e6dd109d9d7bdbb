"""MaskAnyNet detection and segmentation through the user's commands:
``tools/dist_train.sh`` with 2 CPU processes, then ``tools/test.py``."""
import pickle

import pytest
import torch
from mmpretrain.models.backbones import ResNet

from tests.conftest import config, last_metric, run_tool

MASK_RCNN = config('maskanynet/toy/resnet50_coco_maskrcnn_toy.py')


def test_mask_rcnn_learns_with_two_processes_then_test_out_and_show_dir(
        toy_root):
    work_dir = toy_root / 'work_dirs' / 'maskanynet_maskrcnn_dist'
    # 4 toy epochs of 128 images, 2 processes x batch 4 (64 iterations),
    # checkpoints after epochs 2 and 4; test.py evaluates them below
    proc = run_tool(['dist_train.sh', MASK_RCNN, '2', '--work-dir',
                     str(work_dir), '--cfg-options', 'train_cfg.max_epochs=4',
                     'train_cfg.val_begin=5',
                     'default_hooks.checkpoint.interval=2'],
                    toy_root, timeout=1200, env=dict(PORT='29527'))
    assert 'Distributed training: True' in proc.stdout
    # 128 images shared by 2 processes, batch 4 each: 16 iterations/epoch
    assert 'Epoch(train) [4][10/16]' in proc.stdout
    assert (work_dir / 'epoch_2.pth').exists()

    maps = []
    for epoch in (2, 4):
        out = toy_root / f'maskanynet_epoch_{epoch}.pkl'
        show_dir = toy_root / f'maskanynet_show_{epoch}'
        proc = run_tool(['test.py', MASK_RCNN,
                         str(work_dir / f'epoch_{epoch}.pth'), '--work-dir',
                         str(work_dir), '--out', str(out), '--show-dir',
                         str(show_dir), '--cfg-options',
                         'test_dataloader.dataset.indices=16'], toy_root)
        maps.append((last_metric(proc.stdout, 'coco/bbox_mAP'),
                     last_metric(proc.stdout, 'coco/segm_mAP')))
        with open(out, 'rb') as f:
            results = pickle.load(f)
        assert len(results) == 16
        assert 'pred_instances' in results[0]
        assert len(list(show_dir.rglob('*.jpg'))) == 16
    # it learns: above zero and rising between the two checkpoints
    (bbox_2, segm_2), (bbox_4, segm_4) = maps
    assert bbox_4 > 0 and segm_4 > 0
    assert bbox_4 > bbox_2 and segm_4 > segm_2, maps


@pytest.mark.parametrize('name,options,metric', [
    ('resnet50_voc_fasterrcnn_toy.py',
     ['train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=16'],
     'pascal_voc/mAP'),
    ('resnet50_ade20k_upernet_toy.py', ['train_cfg.max_iters=4'], 'mIoU'),
])
def test_two_process_training_then_test_prints_the_metric(
        name, options, metric, toy_root):
    work_dir = toy_root / 'work_dirs' / f'maskanynet_{name}'
    cfg = config(f'maskanynet/toy/{name}')
    proc = run_tool(['dist_train.sh', cfg, '2', '--work-dir', str(work_dir),
                     '--cfg-options', *options, 'train_cfg.val_begin=100',
                     'default_hooks.checkpoint.interval=1'],
                    toy_root, env=dict(PORT='29537'))
    assert 'Distributed training: True' in proc.stdout
    checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
    proc = run_tool(['test.py', cfg, checkpoint, '--work-dir', str(work_dir),
                     '--cfg-options', 'test_dataloader.dataset.indices=8'],
                    toy_root)
    assert 0 <= last_metric(proc.stdout, metric) <= 100


def _r18_detector(root, name, checkpoint):
    """A config a user would write: the toy Mask R-CNN with an R-18 backbone
    that starts from ``checkpoint`` and freezes its stem and stage 1, as the
    COCO recipe does."""
    path = root / f'{name}.py'
    path.write_text(f"""
_base_ = {MASK_RCNN!r}
model = dict(
    backbone=dict(depth=18, frozen_stages=1, norm_eval=True, init_cfg=dict(
        _delete_=True, type='Pretrained', checkpoint={str(checkpoint)!r},
        prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256, 512]))
""")
    return str(path)


# 2 iterations of 4 images, no validation
SHORT = ['--cfg-options', 'train_cfg.max_epochs=1',
         'train_dataloader.dataset.indices=8', 'train_cfg.val_begin=100']


def test_detection_starts_from_a_maskanynet_classification_checkpoint(
        toy_root):
    """The recipe's transfer through tools/train.py: the detector loads the
    classifier's backbone, reuse branch included, and keeps it frozen with
    the stem and stage 1 while the later stages train."""
    classifier_dir = toy_root / 'work_dirs' / 'transfer_cls'
    run_tool(['train.py', config('maskanynet/toy/resnet18_toy_cls.py'),
              '--work-dir', str(classifier_dir), '--cfg-options',
              'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=64',
              'train_cfg.val_begin=100'], toy_root)
    classifier = classifier_dir / 'epoch_1.pth'
    detector_dir = toy_root / 'work_dirs' / 'transfer_det'
    run_tool(['train.py', _r18_detector(toy_root, 'transfer', classifier),
              '--work-dir', str(detector_dir), *SHORT], toy_root)

    ours = torch.load(classifier, map_location='cpu',
                      weights_only=False)['state_dict']
    trained = torch.load(detector_dir / 'epoch_1.pth', map_location='cpu',
                         weights_only=False)['state_dict']
    frozen = [k for k in ours if k.startswith(
        ('backbone.reuse_stem.', 'backbone.reuse_fusion.', 'backbone.conv1.',
         'backbone.bn1.', 'backbone.layer1.'))]
    assert any('reuse_fusion' in k for k in frozen)
    for key in frozen:
        assert torch.equal(trained[key], ours[key]), key
    later = [k for k in ours if k.startswith('backbone.layer4.')
             and k.endswith('conv1.weight')]
    assert later and any(not torch.equal(trained[k], ours[k]) for k in later)


def test_detection_names_a_checkpoint_it_cannot_start_from(toy_root):
    missing = toy_root / 'work_dirs' / 'resnet18_imagenet' / 'epoch_100.pth'
    proc = run_tool(['train.py', _r18_detector(toy_root, 'missing', missing),
                     '--work-dir', str(toy_root / 'work_dirs' / 'missing'),
                     *SHORT], toy_root, check=False)
    assert proc.returncode != 0
    assert f"init_cfg checkpoint '{missing}' does not exist" in proc.stdout
    # an ImageNet ResNet has no reuse branch to keep frozen
    plain = toy_root / 'plain_resnet18.pth'
    torch.save(dict(state_dict={f'backbone.{k}': v
                                for k, v in ResNet(18).state_dict().items()}),
               plain)
    proc = run_tool(['train.py', _r18_detector(toy_root, 'plain', plain),
                     '--work-dir', str(toy_root / 'work_dirs' / 'plain'),
                     *SHORT], toy_root, check=False)
    assert proc.returncode != 0
    assert 'no weights for reuse_fusion' in proc.stdout
    assert 'model.backbone.freeze_reuse=False' in proc.stdout
