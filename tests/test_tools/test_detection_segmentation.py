"""Toy Mask R-CNN, Faster R-CNN and UperNet through the user's commands."""
import pickle

import pytest

from tests.conftest import config, last_metric, run_tool

MASK_RCNN = config('baselines/toy/resnet50_coco_maskrcnn_toy.py')
# one short epoch on a subset: the tools are under test, not the accuracy
SHORT_EPOCHS = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                'default_hooks.checkpoint.interval=1',
                'train_dataloader.dataset.indices=16',
                'val_dataloader.dataset.indices=8']


@pytest.mark.parametrize('name,options,metrics', [
    ('resnet50_coco_maskrcnn_toy.py', SHORT_EPOCHS,
     ('coco/bbox_mAP', 'coco/segm_mAP')),
    ('resnet50_voc_fasterrcnn_toy.py', SHORT_EPOCHS, ('pascal_voc/mAP', )),
    ('resnet50_ade20k_upernet_toy.py',
     ['train_cfg.max_iters=8', 'train_cfg.val_interval=8',
      'default_hooks.checkpoint.interval=8',
      'val_dataloader.dataset.indices=8'], ('mIoU', )),
])
def test_train_then_test_prints_the_metric(name, options, metrics, toy_root):
    work_dir = toy_root / 'work_dirs' / name
    run_tool(['train.py', config(f'baselines/toy/{name}'), '--work-dir',
              str(work_dir), '--cfg-options', *options], toy_root)
    checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
    show_dir = work_dir / 'show'
    proc = run_tool(['test.py', config(f'baselines/toy/{name}'), checkpoint,
                     '--work-dir', str(work_dir), '--show-dir',
                     str(show_dir)], toy_root)
    for metric in metrics:
        assert 0 <= last_metric(proc.stdout, metric) <= 100
    # every val image drawn, wherever the library's own hook puts them
    drawn = [p for p in show_dir.rglob('*') if p.suffix in ('.jpg', '.png')]
    assert len(drawn) == 32


def test_dist_train_then_dist_test_two_cpu_processes_with_out_and_show_dir(
        toy_root):
    work_dir = toy_root / 'work_dirs' / 'maskrcnn_dist'
    proc = run_tool(['dist_train.sh', MASK_RCNN, '2', '--work-dir',
                     str(work_dir), '--cfg-options', *SHORT_EPOCHS,
                     'train_dataloader.dataset.indices=32'],
                    toy_root, env=dict(PORT='29517'))
    assert 'Distributed launcher: pytorch' in proc.stdout
    assert 'Distributed training: True' in proc.stdout
    # 32 images shared by 2 processes, batch 4 each: 4 iterations/epoch
    assert 'Epoch(train) [1][4/4]' in proc.stdout
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.exists()

    out = toy_root / 'results.pkl'
    show_dir = toy_root / 'show'
    proc = run_tool(['dist_test.sh', MASK_RCNN, str(checkpoint), '2',
                     '--work-dir', str(work_dir), '--out', str(out),
                     '--show-dir', str(show_dir)], toy_root,
                    env=dict(PORT='29518'))
    assert 0 <= last_metric(proc.stdout, 'coco/segm_mAP') <= 100
    with open(out, 'rb') as f:
        results = pickle.load(f)
    # both processes' predictions are gathered: one per val image
    assert sorted(r['img_id'] for r in results) == list(range(1, 33))
    assert 'pred_instances' in results[0]
    # mmengine visualizers draw on rank 0 only: its half of the val set
    assert len(list(show_dir.glob('*.jpg'))) == 16
