"""Bad input to the tools fails fast with a message naming the bad value.

Each tool runs in this process (:func:`run_tool_here`), as
``python tools/...`` would run it.
"""
import pytest
import torch

from tests.conftest import config, free_port, run_tool, run_tool_here
from tests.test_engine.test_checkpoint import hostile_checkpoint

CLS = config('baselines/toy/resnet18_toy_cls.py')


def test_unknown_config_path(tmp_path):
    proc = run_tool_here(['train.py', 'configs/nope/missing.py'], tmp_path)
    assert proc.returncode == 2
    assert 'config file not found: configs/nope/missing.py' in proc.stdout


def test_missing_dataset_folder_says_how_to_make_it(tmp_path):
    proc = run_tool_here(['train.py', CLS], tmp_path)
    assert proc.returncode == 2
    assert 'dataset path not found: data/toy/cls' in proc.stdout
    assert 'python tools/misc/make_toy_data.py --out data/toy' in proc.stdout


def test_missing_test_dataset_folder(tmp_path):
    checkpoint = tmp_path / 'model.pth'
    checkpoint.write_bytes(b'')
    proc = run_tool_here(['test.py', CLS, str(checkpoint)], tmp_path)
    assert proc.returncode == 2
    assert 'dataset path not found: data/toy/cls' in proc.stdout


def test_wrong_launcher(tmp_path):
    proc = run_tool_here(['train.py', CLS, '--launcher', 'torchrun'],
                         tmp_path)
    assert proc.returncode == 2
    assert "invalid choice: 'torchrun'" in proc.stdout
    assert "'pytorch'" in proc.stdout


def test_missing_checkpoint(toy_root):
    proc = run_tool_here(['test.py', CLS, 'work_dirs/none.pth'], toy_root)
    assert proc.returncode == 2
    assert 'checkpoint not found: work_dirs/none.pth' in proc.stdout
    proc = run_tool_here(['train.py', CLS, '--resume', 'work_dirs/none.pth'],
                         toy_root)
    assert proc.returncode == 2
    assert '--resume checkpoint not found: work_dirs/none.pth' in proc.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a CPU-only host')
def test_amp_without_cuda(toy_root):
    proc = run_tool_here(['train.py', CLS, '--amp'], toy_root)
    assert proc.returncode == 2
    assert '--amp needs a CUDA device' in proc.stdout


def test_auto_scale_lr_without_base_batch_size(toy_root):
    proc = run_tool_here(['train.py', CLS, '--auto-scale-lr', '--cfg-options',
                          'auto_scale_lr=None'], toy_root)
    assert proc.returncode == 2
    assert 'auto_scale_lr.base_batch_size' in proc.stdout


def test_mask_backbone_without_masking_preprocessor(toy_root):
    # the detection and segmentation pairs give their own preprocessor's
    # name: test_models/test_pairing.py, in-process
    proc = run_tool_here(['train.py', CLS, '--cfg-options',
                          'model.backbone.type=mmmaskreuse.MaskResNet'],
                         toy_root)
    assert proc.returncode == 2
    assert ('backbone MaskResNet needs the masked image and the reuse '
            'image' in proc.stdout)
    assert 'type to mmmaskreuse.MaskReuseClsDataPreprocessor' in proc.stdout


def test_masking_preprocessor_with_plain_backbone(toy_root):
    masked = config('maskanynet/toy/resnet18_toy_cls.py')
    proc = run_tool_here(['train.py', masked, '--cfg-options',
                          'model.backbone.type=ResNet'],
                         toy_root)
    assert proc.returncode == 2
    assert 'use mmmaskreuse.MaskResNet' in proc.stdout


def test_test_py_and_resume_refuse_a_checkpoint_that_would_run_code(
        toy_root, tmp_path):
    marker = tmp_path / 'ran'
    evil = hostile_checkpoint(tmp_path / 'evil.pth', marker)
    proc = run_tool_here(['test.py', CLS, evil], toy_root)
    assert proc.returncode == 2
    assert f'refusing to unpickle {evil}' in proc.stdout
    assert 'GLOBAL posix.system' in proc.stdout
    proc = run_tool_here(['train.py', CLS, '--resume', evil, '--work-dir',
                          str(tmp_path / 'work_dir')], toy_root)
    assert proc.returncode != 0
    assert f'refusing to unpickle {evil}' in proc.stdout
    assert not marker.exists()


def score_with_allow_partial(toy_root, checkpoint):
    """``test.py --allow-partial`` scores ``checkpoint`` on 4 images."""
    proc = run_tool_here(['test.py', CLS, str(checkpoint), '--allow-partial',
                          '--cfg-options', 'test_dataloader.dataset.indices=4',
                          'test_dataloader.num_workers=0',
                          'test_dataloader.persistent_workers=False'],
                         toy_root, check=True)
    assert 'accuracy/top1' in proc.stdout


def test_test_py_refuses_a_checkpoint_missing_weights(toy_root, tmp_path):
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    model = MODELS.build(Config.fromfile(CLS).model)
    partial = tmp_path / 'backbone_only.pth'
    torch.save(dict(state_dict={k: v for k, v in model.state_dict().items()
                                if k.startswith('backbone.')}), partial)
    proc = run_tool_here(['test.py', CLS, str(partial)], toy_root)
    assert proc.returncode == 2
    assert (f'{partial} does not fit the model of {CLS}: it holds no '
            'weights for 2 entries of the model (head.fc.weight, '
            'head.fc.bias)') in proc.stdout
    assert 'accuracy/top1' not in proc.stdout
    score_with_allow_partial(toy_root, partial)


def test_test_py_refuses_mis_shaped_and_unexpected_weights(toy_root,
                                                           tmp_path):
    """Every key there is not enough: a head for 5 classes on the 4-class
    config, and a MaskAnyNet checkpoint on its vanilla twin's config (its
    reuse branch would be ignored), are refused as a partial one is."""
    from mmmaskreuse.engine import build_model, load_config
    wide = tmp_path / 'five_classes.pth'
    torch.save(dict(state_dict=build_model(load_config(
        CLS, {'model.head.num_classes': 5})).state_dict()), wide)
    proc = run_tool_here(['test.py', CLS, str(wide)], toy_root)
    assert proc.returncode == 2
    assert (f'{wide} does not fit the model of {CLS}: it holds 2 weights of '
            "another shape than the model's (head.fc.weight: [5, 512] in the "
            'checkpoint, [4, 512] in the model, head.fc.bias: [5] in the '
            'checkpoint, [4] in the model)') in proc.stdout
    masked = tmp_path / 'maskanynet.pth'
    torch.save(dict(state_dict=build_model(load_config(
        config('maskanynet/toy/resnet18_toy_cls.py'))).state_dict()), masked)
    proc = run_tool_here(['test.py', CLS, str(masked)], toy_root)
    assert proc.returncode == 2
    assert (f'{masked} does not fit the model of {CLS}: it holds ' in
            proc.stdout)
    assert ('weights the model has no entry for '
            '(backbone.reuse_stem.conv.weight, ') in proc.stdout
    assert 'accuracy/top1' not in proc.stdout
    score_with_allow_partial(toy_root, wide)


def test_dist_test_sh_refuses_mis_shaped_and_unexpected_weights(
        toy_root, tmp_path):
    """Through torchrun: a MaskAnyNet checkpoint with a 5-class head on the
    4-class vanilla config stops the run before it scores, naming both
    kinds of misfit, with the refusal's exit status. One process: each rank
    runs the same check (torchrun ends the others when the first exits)."""
    from mmmaskreuse.engine import build_model, load_config
    misfit = tmp_path / 'maskanynet_five_classes.pth'
    torch.save(dict(state_dict=build_model(load_config(
        config('maskanynet/toy/resnet18_toy_cls.py'),
        {'model.head.num_classes': 5})).state_dict()), misfit)
    proc = run_tool(['dist_test.sh', CLS, str(misfit), '1', '--cfg-options',
                     'test_dataloader.dataset.indices=4',
                     'test_dataloader.num_workers=0',
                     'test_dataloader.persistent_workers=False'], toy_root,
                    env=dict(PORT=str(free_port())), check=False)
    assert proc.returncode != 0
    assert (f'{misfit} does not fit the model of {CLS}: it holds 24 '
            'weights the model has no entry for '
            '(backbone.reuse_stem.conv.weight, ') in proc.stdout, \
        proc.stdout[-3000:]
    assert ("it holds 2 weights of another shape than the model's "
            '(head.fc.weight: [5, 512] in the checkpoint, [4, 512] in the '
            'model') in proc.stdout
    assert 'failed (exitcode: 2)' in proc.stdout  # the refusal's status
    assert 'accuracy/top1' not in proc.stdout


def test_train_py_refuses_a_frozen_reuse_branch_no_checkpoint_fills(
        toy_root, tmp_path):
    masked = config('maskanynet/toy/resnet18_toy_cls.py')
    proc = run_tool_here(['train.py', masked, '--work-dir',
                          str(tmp_path / 'frozen'), '--cfg-options',
                          'model.backbone.frozen_stages=0',
                          # one iteration, should the check let it start
                          'train_cfg.max_epochs=1', 'train_cfg.val_interval=2',
                          'train_dataloader.dataset.indices=8',
                          'train_dataloader.num_workers=0',
                          'train_dataloader.persistent_workers=False',
                          'val_dataloader.num_workers=0',
                          'val_dataloader.persistent_workers=False'],
                         toy_root)
    assert proc.returncode != 0
    assert ('model.backbone (MaskResNet) freezes reuse_stem, reuse_fusion '
            '(freeze_reuse=True, frozen_stages=0), but no checkpoint filled '
            'them') in proc.stdout
    assert 'or set model.backbone.freeze_reuse=False' in proc.stdout
    assert 'Epoch(train)' not in proc.stdout


def test_train_py_stops_at_the_first_non_finite_loss(toy_root, tmp_path):
    proc = run_tool_here(['train.py', CLS, '--work-dir', str(tmp_path / 'nan'),
                          '--cfg-options', 'model.head.loss.loss_weight=nan',
                          'train_dataloader.dataset.indices=32',
                          'train_dataloader.batch_size=16',
                          'train_dataloader.num_workers=0',
                          'train_dataloader.persistent_workers=False'],
                         toy_root)
    assert proc.returncode != 0
    assert ('training diverged at iteration 1 (epoch 1): loss not finite '
            '(loss=nan)') in proc.stdout
    assert 'Epoch(train) [1][2/2]' not in proc.stdout


# what a run that is not refused trains: 1 iteration, no validation
ONE_ITERATION = ['train_cfg.max_epochs=1', 'train_cfg.val_begin=100',
                 'train_dataloader.dataset.indices=4',
                 'train_dataloader.batch_size=4',
                 'train_dataloader.num_workers=0',
                 'train_dataloader.persistent_workers=False']


def test_train_py_refuses_another_models_pretrained_checkpoint(toy_root,
                                                              tmp_path):
    """An ``init_cfg`` pointed at a checkpoint of another model: mmengine
    would load none of its weights, warn, and train from random init."""
    other = tmp_path / 'vit_pretrain.pth'
    torch.save(dict(state_dict={'backbone.patch_embed.projection.weight':
                                torch.zeros(1)}), other)
    proc = run_tool_here([
        'train.py', CLS, '--work-dir', str(tmp_path / 'work'),
        '--cfg-options', 'model.backbone.init_cfg.type=Pretrained',
        f'model.backbone.init_cfg.checkpoint={other}',
        'model.backbone.init_cfg.prefix=backbone.',
        *ONE_ITERATION], toy_root)
    assert proc.returncode != 0
    assert (f"model.backbone.init_cfg.checkpoint='{other}' holds no weights "
            'for conv1.weight, bn1.weight') in proc.stdout, proc.stdout[-3000:]
    assert 'Epoch(train)' not in proc.stdout


def test_resume_refuses_to_restart_beside_incomplete_checkpoints(
        toy_root, tmp_path):
    work_dir = tmp_path / 'work_dir'
    work_dir.mkdir()
    (work_dir / 'epoch_1.pth').write_bytes(b'PK\x03\x04 cut short')
    proc = run_tool_here(['train.py', CLS, '--resume', '--work-dir',
                          str(work_dir)], toy_root)
    assert proc.returncode == 2
    assert (f'--resume found no complete checkpoint in {work_dir}'
            in proc.stdout)
    assert str(work_dir / 'epoch_1.pth') in proc.stdout
