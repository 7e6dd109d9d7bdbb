"""Two-shot SimMIM (Swin) and two-shot FCMAE (ConvNeXt V2) through the
tools on the toy data: pretrain, fine-tune from its checkpoint, test."""
import pytest

from tests.conftest import config, last_metric, run_tool_here
from tests.test_tools.test_conditional_mae_tools import logged

TOY = 'conditional_mae/toy/'
# per chain: pretrain and fine-tune configs, the cells each shot masks at
# 128 px (16 cells), what the fine-tune's encoder does not take from the
# checkpoint and what it does not find there
CHAINS = {
    'simmim': (config(TOY + 'swin-tiny_simmim_two-shot_toy_pretrain.py'),
               config(TOY + 'swin-tiny_simmim_toy_finetune.py'), (10, 1),
               'unexpected key in source state_dict: mask_token, '
               'stage_mask_tokens.0', None),
    'fcmae': (config(TOY + 'convnextv2-tiny_fcmae_two-shot_toy_pretrain.py'),
              config(TOY + 'convnextv2-tiny_toy_finetune.py'), (10, 1), None,
              'missing keys in source state_dict: norm3.weight, norm3.bias'),
}
# the path, not the result: one iteration of 4 of the toy images, no
# loader processes (the toy configs train 5 and 6 epochs: the slow tier)
SHORT = ['train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=4',
         'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False',
         'default_hooks.logger.interval=1']
FEW_VAL = ['dataset.indices=4', 'num_workers=0', 'persistent_workers=False']


@pytest.fixture(scope='module', params=sorted(CHAINS))
def chain(request, toy_root):
    """A chain's name, configs, expectations, one-step pretrain checkpoint
    and the pretraining's log."""
    name = request.param
    work_dir = toy_root / 'work_dirs' / f'{name}_pretrain'
    proc = run_tool_here(['train.py', CHAINS[name][0], '--work-dir',
                          str(work_dir), '--cfg-options', *SHORT],
                         toy_root, check=True)
    return (name, *CHAINS[name], work_dir / 'epoch_1.pth', proc.stdout)


def test_pretrain_logs_each_shot_and_optimises_their_union(chain):
    *_, (first_cells, second_cells), _, _, _, log = chain
    loss, shot1, shot2 = (logged(log, key)
                          for key in (' loss', 'rec_shot1', 'rec_shot2'))
    assert len(loss) == len(shot1) == len(shot2) == 1
    # both losses are means per masked cell (SimMIM: L1 per pixel; FCMAE:
    # MSE per cell): the union's is the cell-weighted mean
    assert shot1[0] != shot2[0]
    assert loss[0] == pytest.approx(
        (first_cells * shot1[0] + second_cells * shot2[0]) /
        (first_cells + second_cells), abs=2e-4)


def test_finetune_and_test_start_from_the_pretrained_encoder(toy_root, chain):
    name, _, finetune, _, left_out, fresh, checkpoint, _ = chain
    work_dir = toy_root / 'work_dirs' / f'{name}_ft'
    train = run_tool_here([
        'train.py', finetune, '--work-dir', str(work_dir), '--cfg-options',
        *SHORT, 'train_cfg.val_interval=1',
        *(f'val_dataloader.{option}' for option in FEW_VAL),
        f'model.backbone.init_cfg.checkpoint={checkpoint}'
    ], toy_root, check=True)
    log = train.stdout
    assert f'Loads checkpoint by local backend from path: {checkpoint}' in log
    # every encoder weight loads: only the named keys differ
    for line, expected in (('unexpected key', left_out),
                           ('missing keys', fresh)):
        if expected is None:
            assert f'{line} in source state_dict' not in log
        else:
            assert expected in log
    trained = (work_dir / 'last_checkpoint').read_text().strip()
    test = run_tool_here(['test.py', finetune, trained, '--work-dir',
                          str(work_dir), '--cfg-options',
                          *(f'test_dataloader.{option}'
                            for option in FEW_VAL)], toy_root, check=True)
    assert last_metric(test.stdout, 'accuracy/top1') == last_metric(
        log, 'accuracy/top1')
