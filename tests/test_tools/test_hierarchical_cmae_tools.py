"""Two-shot SimMIM (Swin) through the tools on the toy data: pretrain,
fine-tune from its checkpoint, test."""
import pytest

from tests.conftest import config, last_metric, run_tool_here
from tests.test_tools.test_conditional_mae_tools import logged

SWIN_PRETRAIN = config(
    'conditional_mae/toy/swin-tiny_simmim_two-shot_toy_pretrain.py')
SWIN_FINETUNE = config('conditional_mae/toy/swin-tiny_simmim_toy_finetune.py')
# the path, not the result: one iteration of 4 of the toy images, no
# loader processes (the toy configs train 5 and 6 epochs: the slow tier)
SHORT = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
         'train_dataloader.dataset.indices=4',
         'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False',
         'val_dataloader.dataset.indices=4',
         'val_dataloader.num_workers=0',
         'val_dataloader.persistent_workers=False',
         'default_hooks.logger.interval=1']


@pytest.fixture(scope='module')
def swin_pretrained(toy_root):
    """A toy two-shot SimMIM checkpoint, and the training log."""
    work_dir = toy_root / 'work_dirs' / 'simmim_pretrain'
    proc = run_tool_here(['train.py', SWIN_PRETRAIN, '--work-dir',
                          str(work_dir), '--cfg-options', *SHORT[:6],
                          SHORT[-1]], toy_root, check=True)
    return work_dir / 'epoch_1.pth', proc.stdout


def test_simmim_pretrain_logs_each_shot_and_optimises_their_union(
        swin_pretrained):
    _, log = swin_pretrained
    loss, shot1, shot2 = (logged(log, key)
                          for key in (' loss', 'rec_shot1', 'rec_shot2'))
    assert len(loss) == len(shot1) == len(shot2) == 1
    # 128 px: 16 cells; SimMIM masks 10, shot 2 one of the 6 left. L1 per
    # masked pixel: the union's loss is the cell-weighted mean
    for total, first, second in zip(loss, shot1, shot2):
        assert first != second
        assert total == pytest.approx((10 * first + second) / 11, abs=2e-4)


def test_simmim_finetune_and_test_start_from_the_pretrained_swin(
        toy_root, swin_pretrained):
    checkpoint = swin_pretrained[0]
    work_dir = toy_root / 'work_dirs' / 'simmim_ft'
    train = run_tool_here([
        'train.py', SWIN_FINETUNE, '--work-dir', str(work_dir),
        '--cfg-options', *SHORT,
        f'model.backbone.init_cfg.checkpoint={checkpoint}'
    ], toy_root, check=True)
    log = train.stdout
    assert f'Loads checkpoint by local backend from path: {checkpoint}' in log
    # every Swin weight loads; only the pretraining's mask tokens are left
    assert ('unexpected key in source state_dict: mask_token, '
            'stage_mask_tokens.0') in log
    assert 'missing keys in source state_dict' not in log
    trained = (work_dir / 'last_checkpoint').read_text().strip()
    test = run_tool_here(['test.py', SWIN_FINETUNE, trained, '--work-dir',
                          str(work_dir), '--cfg-options',
                          'test_dataloader.dataset.indices=4',
                          'test_dataloader.num_workers=0',
                          'test_dataloader.persistent_workers=False'],
                         toy_root, check=True)
    assert last_metric(test.stdout, 'accuracy/top1') == last_metric(
        log, 'accuracy/top1')
