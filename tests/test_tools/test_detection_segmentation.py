"""Detection and segmentation through the user's commands.

Fast tier: the toy MaskAnyNet Mask R-CNN trained by ``tools/dist_train.sh``
with 2 CPU processes and tested by ``tools/dist_test.sh`` (``--out``,
``--show-dir``); Faster R-CNN (VOC) through ``tools/train.py`` ->
``tools/test.py``; MaskAnyNet UperNet (ADE20K) through ``dist_train.sh`` ->
``test.py``; a detector starting from a MaskAnyNet classifier. Each run is
as short as its path allows (two iterations); test.py's predictions are
checked against the checkpoint's own. Slow tier: the MaskAnyNet Mask R-CNN
learns.
"""
import os.path as osp
import pickle
from types import SimpleNamespace

import pytest
import torch

from tests.conftest import (config, free_port, last_metric,
                            predict_in_process, run_tool, run_tool_here)

MASK_RCNN = config('maskanynet/toy/resnet50_coco_maskrcnn_toy.py')
NO_WORKERS = ['train_dataloader.num_workers=0',
              'train_dataloader.persistent_workers=False',
              'val_dataloader.num_workers=0',
              'val_dataloader.persistent_workers=False']
# two iterations of batch 2 (per process), validated on 4 images
TINY_DET = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'default_hooks.checkpoint.interval=1',
            'train_dataloader.batch_size=2',
            'val_dataloader.dataset.indices=4', *NO_WORKERS]
# a 64-channel UperNet head instead of 512: the head dominates at 128 px
# (dist_train.sh here: 20 s instead of 31; checkpoint 0.2 GB instead of 0.5)
TINY_SEG = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
            'default_hooks.checkpoint.interval=2',
            'train_dataloader.batch_size=2',
            'val_dataloader.dataset.indices=4',
            'model.decode_head.channels=64',
            'model.auxiliary_head.channels=64', *NO_WORKERS]
TEST_4 = ['--cfg-options', 'test_dataloader.dataset.indices=4',
          'test_dataloader.num_workers=0',
          'test_dataloader.persistent_workers=False']


def load_results(path):
    with open(path, 'rb') as f:
        return pickle.load(f)


def assert_same_detections(dumped, sample):
    """A dumped mmdet prediction and an in-process DetDataSample agree."""
    expected = sample.pred_instances
    assert len(expected.scores) > 0  # else any weights would agree
    assert torch.allclose(dumped['scores'], expected.scores, atol=1e-4)
    assert torch.allclose(dumped['bboxes'], expected.bboxes, atol=1e-2)


MASK_DIGESTS = """
import hashlib
import os.path as osp

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class MaskDigests(Hook):
    \"\"\"Appends a digest of the cell masks of every training batch to
    ``WORK_DIR/masks_rank<R>.txt``, one line per iteration.\"\"\"

    def before_train(self, runner):
        model = runner.model
        preprocessor = (model.module if is_model_wrapper(model)
                        else model).data_preprocessor
        mask_batch = preprocessor.mask_batch
        path = osp.join(runner.work_dir, f'masks_rank{runner.rank}.txt')

        def recorded(*args, **kwargs):
            masked = mask_batch(*args, **kwargs)
            cells = masked.cell_mask.cpu().numpy().tobytes()
            with open(path, 'a') as f:
                f.write(hashlib.sha1(cells).hexdigest() + '\\n')
            return masked

        preprocessor.mask_batch = recorded
"""


@pytest.fixture(scope='module')
def maskanynet_detector(toy_root, tmp_path_factory):
    """The toy MaskAnyNet Mask R-CNN trained by dist_train.sh on 2 CPU
    processes: 8 images, 2 per process and iteration. A test-only hook
    records a digest of each rank's masks per iteration in the work
    dir. ``config``: the toy config keeping 20 detections an image
    instead of 100 (what an untrained Mask R-CNN finds: pasting their masks
    was most of the validation's time), which dist_test.sh reads too."""
    hooks = tmp_path_factory.mktemp('mask_digests')
    (hooks / 'mask_digests.py').write_text(MASK_DIGESTS)
    light = hooks / 'maskanynet_maskrcnn_20_dets.py'
    light.write_text(
        f'_base_ = [{MASK_RCNN!r}]\n'
        'model = dict(test_cfg=dict(rcnn=dict(max_per_img=20)))\n')
    leaf = hooks / 'maskanynet_maskrcnn_digests.py'
    leaf.write_text(
        f'_base_ = [{str(light)!r}]\n'
        "custom_imports = dict(imports=['mmmaskreuse', 'mask_digests'], "
        'allow_failed_imports=False)\n'
        "custom_hooks = [dict(type='MaskDigests')]\n")
    work_dir = toy_root / 'work_dirs' / 'maskanynet_maskrcnn_dist'
    proc = run_tool(['dist_train.sh', str(leaf), '2', '--work-dir',
                     str(work_dir), '--cfg-options', *TINY_DET,
                     'train_dataloader.dataset.indices=8'],
                    toy_root, env=dict(PORT=str(free_port()),
                                       PYTHONPATH=str(hooks)))
    return SimpleNamespace(log=proc.stdout, work_dir=work_dir,
                           config=str(light),
                           checkpoint=str(work_dir / 'epoch_1.pth'))


def test_dist_train_sh_trains_maskanynet_mask_rcnn_on_two_processes(
        maskanynet_detector):
    log = maskanynet_detector.log
    assert 'Distributed launcher: pytorch' in log
    assert 'Distributed training: True' in log
    # 8 images shared by 2 processes, batch 2 each: 2 iterations
    assert 'Epoch(train) [1][2/2]' in log
    assert 'MaskReuseDetDataPreprocessor' in log
    assert osp.isfile(maskanynet_detector.checkpoint)


def test_dist_train_sh_ranks_draw_their_own_masks(maskanynet_detector):
    """mmengine seeds both ranks alike (the toy config's seed 0, no
    diff_rank_seed): each still masks its batches differently. The first
    iteration counts most: before it both ranks have drawn the same random
    numbers, so only the ranks' own mask generators set them apart."""
    work_dir = maskanynet_detector.work_dir
    rank0, rank1 = ((work_dir / f'masks_rank{rank}.txt').read_text().split()
                    for rank in (0, 1))
    assert len(rank0) == len(rank1) == 2  # one digest per iteration
    assert all(a != b for a, b in zip(rank0, rank1)), (rank0, rank1)


def test_dist_test_sh_gathers_both_processes_out_and_show_dir(
        toy_root, maskanynet_detector):
    out = toy_root / 'maskanynet_maskrcnn.pkl'
    show_dir = toy_root / 'maskanynet_maskrcnn_show'
    proc = run_tool(['dist_test.sh', maskanynet_detector.config,
                     maskanynet_detector.checkpoint, '2', '--work-dir',
                     str(maskanynet_detector.work_dir), '--out', str(out),
                     '--show-dir', str(show_dir), *TEST_4], toy_root,
                    env=dict(PORT=str(free_port())))
    assert 'Distributed training: True' in proc.stdout
    # the validation after training saw the same weights and images
    for metric in ('coco/bbox_mAP', 'coco/segm_mAP'):
        assert last_metric(proc.stdout, metric) == last_metric(
            maskanynet_detector.log, metric)
    results = load_results(out)
    # both processes' predictions are gathered: one per test image
    assert sorted(r['img_id'] for r in results) == [1, 2, 3, 4]
    first = min(results, key=lambda r: r['img_id'])
    assert len(first['pred_instances']['scores']) == 20  # the light config
    assert_same_detections(
        first['pred_instances'],
        predict_in_process(maskanynet_detector.config,
                           maskanynet_detector.checkpoint,
                           str(toy_root / first['img_path'])))
    # mmengine visualizers draw on rank 0 only: its half of the images
    assert len(list(show_dir.glob('*.jpg'))) == 2


def check_test_py_show_dir_and_out(toy_root, cfg, work_dir, train_log,
                                   metric):
    """Run test.py on the run's last checkpoint with ``--show-dir`` and
    ``--out``; check it scores as the validation that ended training and
    draws every test image. Returns the first dumped prediction and the
    checkpoint's own prediction of that image, in-process."""
    checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
    show_dir = work_dir / 'show'
    out = work_dir / 'results.pkl'
    test = run_tool_here(['test.py', cfg, checkpoint, '--work-dir',
                          str(work_dir), '--show-dir', str(show_dir), '--out',
                          str(out), *TEST_4], toy_root, check=True)
    assert last_metric(test.stdout, metric) == last_metric(train_log, metric)
    # every test image drawn, wherever the library's own hook puts them
    drawn = [p for p in show_dir.rglob('*') if p.suffix in ('.jpg', '.png')]
    assert len(drawn) == 4
    dumped = load_results(out)[0]
    return dumped, predict_in_process(cfg, checkpoint,
                                      str(toy_root / dumped['img_path']))


def test_faster_rcnn_train_py_then_test_py_show_dir_and_out(toy_root):
    cfg = config('baselines/toy/resnet50_voc_fasterrcnn_toy.py')
    work_dir = toy_root / 'work_dirs' / 'fasterrcnn_voc'
    train = run_tool_here(['train.py', cfg, '--work-dir', str(work_dir),
                           '--cfg-options', *TINY_DET,
                           'train_dataloader.dataset.indices=4'], toy_root,
                          check=True)
    # train.py stops mmdet runs at a non-finite loss too
    assert "type='mmmaskreuse.StopOnInvalidLossHook'" in train.stdout
    dumped, expected = check_test_py_show_dir_and_out(
        toy_root, cfg, work_dir, train.stdout, 'pascal_voc/mAP')
    assert_same_detections(dumped['pred_instances'], expected)


def test_maskanynet_upernet_dist_train_sh_then_test_py_show_dir_and_out(
        toy_root):
    cfg = config('maskanynet/toy/resnet50_ade20k_upernet_toy.py')
    work_dir = toy_root / 'work_dirs' / 'maskanynet_upernet_dist'
    train = run_tool(['dist_train.sh', cfg, '2', '--work-dir', str(work_dir),
                      '--cfg-options', *TINY_SEG],
                     toy_root, env=dict(PORT=str(free_port())))
    assert 'Distributed training: True' in train.stdout
    assert 'MaskReuseSegDataPreprocessor' in train.stdout
    assert "type='mmmaskreuse.StopOnInvalidLossHook'" in train.stdout
    # tested with the config the run dumped, its --cfg-options included
    dumped, expected = check_test_py_show_dir_and_out(
        toy_root, str(work_dir / osp.basename(cfg)), work_dir, train.stdout,
        'mIoU')
    assert torch.equal(dumped['pred_sem_seg']['data'],
                       expected.pred_sem_seg.data)
    # logits of the trained weights, not of the seeded initialisation's
    assert torch.allclose(dumped['seg_logits']['data'],
                          expected.seg_logits.data, atol=1e-4)


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


# 2 iterations of 2 images, no validation
SHORT = ['--cfg-options', 'train_cfg.max_epochs=1',
         'train_dataloader.batch_size=2',
         'train_dataloader.dataset.indices=4', 'train_cfg.val_begin=100',
         *NO_WORKERS]


def test_train_py_detector_starts_from_a_maskanynet_classifier_checkpoint(
        toy_root, trained_classifier):
    """The recipe's transfer through tools/train.py: the detector loads the
    classifier's backbone, reuse branch included, and keeps it frozen with
    the stem and stage 1 while the later stages train."""
    classifier = trained_classifier.checkpoint
    detector_dir = toy_root / 'work_dirs' / 'transfer_det'
    leaf = _r18_detector(toy_root, 'transfer', classifier)
    run_tool_here(['train.py', leaf, '--work-dir', str(detector_dir), *SHORT],
                  toy_root, check=True)

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


def test_train_py_names_a_detector_checkpoint_it_cannot_start_from(toy_root):
    missing = toy_root / 'work_dirs' / 'resnet18_imagenet' / 'epoch_100.pth'
    leaf = _r18_detector(toy_root, 'missing', missing)
    proc = run_tool_here(['train.py', leaf, '--work-dir',
                          str(toy_root / 'work_dirs' / 'missing'), *SHORT],
                         toy_root)
    assert proc.returncode != 0
    # CheckPretrainedWeightsHook, which train.py adds, before the weights
    assert (f"model.backbone.init_cfg.checkpoint='{missing}': no such "
            'checkpoint') in proc.stdout
    # a plain ResNet checkpoint into the frozen reuse branch is refused in
    # test_models/test_dense_backbones.py, in-process


@pytest.mark.slow
def test_maskanynet_mask_rcnn_learns_with_two_processes(toy_root):
    """4 toy epochs of 128 images, 2 processes x batch 4 (64 iterations):
    bbox and segm mAP above zero and rising between epochs 2 and 4."""
    work_dir = toy_root / 'work_dirs' / 'maskanynet_maskrcnn_learns'
    proc = run_tool(['dist_train.sh', MASK_RCNN, '2', '--work-dir',
                     str(work_dir), '--cfg-options', 'train_cfg.max_epochs=4',
                     'train_cfg.val_begin=5',
                     'default_hooks.checkpoint.interval=2'],
                    toy_root, timeout=1800, env=dict(PORT=str(free_port())))
    assert 'Epoch(train) [4][10/16]' in proc.stdout
    maps = []
    for epoch in (2, 4):
        proc = run_tool(['test.py', MASK_RCNN,
                         str(work_dir / f'epoch_{epoch}.pth'), '--work-dir',
                         str(work_dir)], toy_root)
        maps.append((last_metric(proc.stdout, 'coco/bbox_mAP'),
                     last_metric(proc.stdout, 'coco/segm_mAP')))
    (bbox_2, segm_2), (bbox_4, segm_4) = maps
    # docs: epoch 4 reaches bbox 0.078, segm 0.085 on the 32 val images
    assert bbox_4 > 0.03 and segm_4 > 0.03, maps
    assert bbox_4 > bbox_2 and segm_4 > segm_2, maps
