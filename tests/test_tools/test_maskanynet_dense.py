"""MaskAnyNet detection and segmentation through the user's commands:
``tools/dist_train.sh`` with 2 CPU processes, then ``tools/test.py``."""
import pickle

import pytest

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
