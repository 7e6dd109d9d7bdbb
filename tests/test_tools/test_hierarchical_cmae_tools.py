"""Two-shot SimMIM (Swin) and two-shot FCMAE (ConvNeXt V2) through the
tools on the toy data: pretrain, fine-tune from its checkpoint, test."""
import pytest

from tests.conftest import config, last_metric, run_tool, run_tool_here
from tests.test_tools.test_conditional_mae_tools import (four_panels,
                                                         is_grey, logged,
                                                         same_patch)

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
# loader processes (the toy configs pretrain 5 epochs and fine-tune 6 or
# 10: the slow tier)
SHORT = ['train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=4',
         'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False',
         'default_hooks.logger.interval=1',
         # near 1 at the start, the shot losses can agree to 4 digits
         'log_processor.num_digits=6']
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


def cell_pixels(panel):
    """[128, 128, 3] -> [16 cells, 32 * 32 * 3], cells in raster order."""
    grid = panel.reshape(4, 32, 4, 32, 3).transpose(0, 2, 1, 3, 4)
    return grid.reshape(16, -1)


def test_show_reconstruction_draws_each_shots_cells(toy_root, chain):
    name, pretrain, *_, checkpoint, _ = chain
    image = sorted((toy_root / 'data' / 'toy' / 'cls' / 'val' /
                    'circle').iterdir())[0]
    out_dir = toy_root / f'{name}_reconstruction'
    proc = run_tool_here([
        'visualization/show_reconstruction.py', pretrain, str(checkpoint),
        str(image), '--out-dir', str(out_dir), '--img-size', '128'
    ], toy_root, check=True)
    png = out_dir / f'{image.stem}.png'
    assert f'{image} -> {png}' in proc.stdout
    # the 128-px crop, enlarged 2x
    original, shot1, shot2, rebuilt = map(
        cell_pixels, four_panels(png, side=128, zoom=2))
    kept1, kept2 = (same_patch(panel, original) for panel in (shot1, shot2))
    # 16 cells: 10 grey after shot 1 (stage 0), one more after shot 2
    # (stage 3), the 5 left pasted into the reconstruction as they are
    assert (~kept1).sum() == 10 and (~kept2).sum() == 11
    assert is_grey(shot1)[~kept1].all() and is_grey(shot2)[~kept2].all()
    assert (kept2 <= kept1).all()
    assert (same_patch(rebuilt, original) >= kept2).all()
    # masked cells are the decoder's: neither the image nor grey
    assert not same_patch(rebuilt, original)[~kept2].any()
    assert not is_grey(rebuilt)[~kept2].any()


@pytest.fixture(scope='module', params=sorted(CHAINS))
def documented_chain(request, toy_root):
    """A toy chain as the docs run it: the pretrain (5 epochs), then the
    fine-tune (6 or 10 epochs) from its checkpoint, then test.py; returns the
    pretraining's log and the test's output."""
    pretrain, finetune = CHAINS[request.param][:2]
    work_dir = toy_root / 'work_dirs' / f'{request.param}_documented'
    pretraining = run_tool(['train.py', pretrain, '--work-dir',
                            str(work_dir / 'pretrain')], toy_root,
                           timeout=3600)
    run_tool(['train.py', finetune, '--work-dir', str(work_dir / 'ft'),
              '--cfg-options', 'model.backbone.init_cfg.checkpoint=' +
              str(work_dir / 'pretrain' / 'epoch_5.pth')], toy_root,
             timeout=3600)
    checkpoint = (work_dir / 'ft' / 'last_checkpoint').read_text().strip()
    test = run_tool(['test.py', finetune, checkpoint, '--work-dir',
                     str(work_dir / 'ft')], toy_root)
    return pretraining.stdout, test.stdout


@pytest.mark.slow
def test_toy_pretrain_reconstruction_loss_falls(documented_chain):
    loss = logged(documented_chain[0], ' loss')
    assert loss[-1] < 0.8 * loss[0], loss


@pytest.mark.slow
def test_toy_finetune_beats_chance(documented_chain):
    # 4 balanced classes: chance is 25 %
    assert last_metric(documented_chain[1], 'accuracy/top1') > 35
