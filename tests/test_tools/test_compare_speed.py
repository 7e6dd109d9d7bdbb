"""compare_speed.py as a user runs it, and the synthetic batches it steps
every library's models on."""
import importlib.util
import os.path as osp
import re
import sys

import pytest
import torch

from mmmaskreuse.analysis.speed import (benchmark_masking, build_step,
                                        peak_memory, synthetic_batch,
                                        task_of, time_alternating)
from mmmaskreuse.engine import build_model, load_config
from mmmaskreuse.masking import MaskReuse, PatchMask
from tests.conftest import REPO, config, run_tool, run_tool_here

TOOL = 'analysis_tools/compare_speed.py'
LAST_LINE = re.compile(r'^ratio=([0-9.]+) peak_mem_a=([0-9.]+) '
                       r'peak_mem_b=([0-9.]+)$')


def run_compare(cwd, *flags, check=True):
    """compare_speed.py on the toy pair, in this process (its memory
    workers are new processes, as when a user runs it)."""
    proc = run_tool_here([
        TOOL, config('maskanynet/toy/resnet18_toy_cls.py'), '--baseline',
        config('baselines/toy/resnet18_toy_cls.py'), '--device', 'cpu',
        '--batch-size', '4', '--shape', '64', '--iters', '3', '--warmup',
        '1', *flags
    ], cwd)
    assert not check or proc.returncode == 0, proc.stdout[-5000:]
    return proc


def test_compare_speed_train_ends_with_the_ratio_line(tmp_path):
    proc = run_compare(tmp_path, '--mode', 'train', '--masking-batch-size',
                       '8')
    lines = proc.stdout.strip().splitlines()
    ratio, peak_a, peak_b = map(float, LAST_LINE.match(lines[-1]).groups())
    medians = [
        float(m) for m in re.findall(r'median step ([0-9.]+) ms',
                                     proc.stdout)
    ]
    assert len(medians) == 2
    assert ratio == pytest.approx(medians[0] / medians[1], rel=0.01)
    # MaskResNet-18 holds the reuse stem and the alignment module on top
    params = [float(p) for p in re.findall(r'([0-9.]+) M params',
                                           proc.stdout)]
    assert params[0] > params[1]
    assert peak_a > 0 and peak_b > 0
    assert re.search(r'masking 8x3x64x64 with CombinedMask\(mask_ratio='
                     r'0\.25, grid_size=\(8, 8\).*speed-up [0-9.]+x '
                     r'\(batched: \d+ torch operators per call\)',
                     proc.stdout)


def test_compare_speed_test_mode_and_options_of_config_a_only(tmp_path):
    """Test mode, no memory runs, no masking benchmark; --cfg-options
    change config A only: decision fusion doubles its backbone (its head
    needs 1024 inputs)."""
    proc = run_compare(tmp_path, '--mode', 'test', '--no-memory',
                       '--masking-batch-size', '0', '--cfg-options',
                       'model.backbone.fusion=decision',
                       'model.head.in_channels=1024')
    assert 'compare_speed: mode=test' in proc.stdout
    ratio, peak_a, peak_b = map(float, LAST_LINE.match(
        proc.stdout.strip().splitlines()[-1]).groups())
    medians = [
        float(m) for m in re.findall(r'median step ([0-9.]+) ms',
                                     proc.stdout)
    ]
    assert ratio == pytest.approx(medians[0] / medians[1], rel=0.01)
    assert peak_a == peak_b == 0
    params = [float(p) for p in re.findall(r'([0-9.]+) M params',
                                           proc.stdout)]
    assert params[0] == pytest.approx(2 * params[1], rel=0.01)
    assert 'masking' not in proc.stdout


def load_tool():
    """tools/analysis_tools/compare_speed.py as a module, to call its
    argument parsing in-process."""
    spec = importlib.util.spec_from_file_location(
        'compare_speed', osp.join(REPO, 'tools', TOOL))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('flags,message', [
    (['--device', 'cuda:0'], 'CUDA is not available'),
    (['--iters', '0'], '--iters must be >= 1, got 0'),
    (['--shape', '64', '64', '64'], '--shape takes H or H W'),
])
def test_bad_flags_are_named(monkeypatch, capsys, flags, message):
    if flags[0] == '--device' and torch.cuda.is_available():
        pytest.skip('this machine has CUDA')
    monkeypatch.setattr(sys, 'argv', [
        TOOL, config('maskanynet/toy/resnet18_toy_cls.py'), '--baseline',
        config('baselines/toy/resnet18_toy_cls.py'), *flags
    ])
    with pytest.raises(SystemExit) as error:
        load_tool().parse_args()
    assert error.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize('flags', [[], ['--no-memory']])
def test_mispaired_config_is_named_before_any_step(tmp_path, flags):
    # a plain ResNet fed masked pairs: named whether the first build is in
    # a memory worker or in the timing process
    proc = run_compare(tmp_path, *flags, '--baseline-cfg-options',
                       'data_preprocessor.type='
                       'mmmaskreuse.MaskReuseClsDataPreprocessor',
                       check=False)
    assert proc.returncode != 0
    assert ('data_preprocessor MaskReuseClsDataPreprocessor makes masked '
            'image + reuse image pairs, but no backbone of the model takes '
            'them') in proc.stdout
    assert 'compare_speed: mode=' not in proc.stdout


def test_missing_baseline_config_is_named(tmp_path):
    proc = run_tool_here([TOOL, config('maskanynet/toy/resnet18_toy_cls.py'),
                          '--baseline', 'no/such.py'], tmp_path)
    assert proc.returncode == 2
    assert 'config file not found: no/such.py' in proc.stdout


# toys whose backbone is shrunk further here: the first steps of B0 take
# seconds on the CPU, of the tiny_efficientnet_v2 arch a fraction
SHRUNK = {
    'maskanynet/toy/efficientnetv2-b0_toy_cls.py': {
        'model.backbone.arch': 'tiny', 'model.head.in_channels': 64},
}


@pytest.mark.parametrize('name,task,side', [
    ('baselines/toy/resnet18_toy_cls.py', 'cls', 64),
    # MaskEfficientNetV2 (issue 21), shrunk (SHRUNK)
    ('maskanynet/toy/efficientnetv2-b0_toy_cls.py', 'cls', 32),
    ('baselines/toy/resnet50_coco_maskrcnn_toy.py', 'det', 64),
    ('baselines/toy/resnet50_ade20k_upernet_toy.py', 'seg', 64),
    ('conditional_mae/toy/vit-tiny_two-shot_toy_pretrain.py', 'selfsup', 64),
    # SimMIM reads its pipeline's mask from the samples
    ('conditional_mae/toy/swin-tiny_simmim_two-shot_toy_pretrain.py',
     'selfsup', 128),
    # the transfer twins: an mmpretrain ViT in an mmdet and an mmseg model,
    # layer-wise lr decay from the backbone's depths
    ('conditional_mae/toy/vit-tiny_toy_coco_maskrcnn.py', 'det', 64),
    ('conditional_mae/toy/vit-tiny_toy_ade20k_upernet.py', 'seg', 64),
])
def test_synthetic_batch_trains_and_tests_every_library(
        name, task, side, tiny_efficientnet_v2):
    cfg = load_config(config(name), SHRUNK.get(name))
    torch.manual_seed(0)
    model = build_model(cfg)
    assert task_of(model) == task
    data = synthetic_batch(model, 2, (side, side))
    assert [tuple(image.shape) for image in data['inputs']] == [(3, side,
                                                                 side)] * 2
    assert synthetic_batch(model, 2, (side, side))['inputs'][1].equal(
        data['inputs'][1])
    log_vars = build_step(model, cfg, 'train')(data)
    assert torch.isfinite(log_vars['loss'])
    if task != 'selfsup':  # pretraining has no test step
        build_step(model, cfg, 'test')(data)


def test_time_alternating_swaps_the_order():
    calls = []
    steps = [lambda: calls.append('A'), lambda: calls.append('B')]
    times = time_alternating(steps, iters=2, warmup=1,
                             device=torch.device('cpu'))
    assert calls == ['A', 'B', 'B', 'A', 'A', 'B']
    assert [len(t) for t in times] == [2, 2]


def test_peak_memory_grows_with_the_batch_not_with_the_parent():
    # 1 GiB resident in this process must not count: a long test run (or
    # tool) can be large, and Linux's ru_maxrss would pass it on
    ballast = torch.ones(2**28)
    args = (config('baselines/toy/resnet18_toy_cls.py'), None, 'train')
    # 30 more images of 128 px hold about 260 MiB more activations here;
    # at 64 px and batch 24 the 20 MiB difference lost to the noise on CI
    # (216 vs 208 MiB), most likely torch's library pages, which
    # peak_memory now leaves out
    small = peak_memory(*args, 2, (128, 128), 'cpu', steps=1)
    large = peak_memory(*args, 32, (128, 128), 'cpu', steps=1)
    assert 0 < small < small + 100 * 2**20 < large
    assert large < ballast.numel() * ballast.element_size()


def test_masking_benchmark_times_both_sides():
    seconds = benchmark_masking(MaskReuse(PatchMask(grid_size=(4, 4))), 4,
                                (32, 32), iters=2)
    assert seconds['batched'] > 0 and seconds['reference'] > 0
    assert seconds['speedup'] == pytest.approx(seconds['reference'] /
                                               seconds['batched'])
    # one rand, one index search, masks and cells looked up, masked_fill,
    # the stitching: a fixed handful whatever the batch
    assert 5 < seconds['operators'] < 25
    assert benchmark_masking(MaskReuse(PatchMask(grid_size=(4, 4))), 32,
                             (32, 32), iters=1)['operators'] == \
        seconds['operators']


def test_detection_defaults_and_masking_benchmark_on_whole_cells(tmp_path):
    # no --batch-size: config A's batch as --cfg-options set it; a padded
    # detection size is cropped to whole cells for the numpy reference
    proc = run_tool_here([
        TOOL, config('maskanynet/toy/resnet50_coco_maskrcnn_toy.py'),
        '--baseline', config('baselines/toy/resnet50_coco_maskrcnn_toy.py'),
        '--device', 'cpu', '--shape', '100', '130', '--iters', '1',
        '--warmup', '0', '--no-memory', '--masking-batch-size', '2',
        '--cfg-options', 'train_dataloader.batch_size=1'
    ], tmp_path)
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert 'batch=1 shape=100x130' in proc.stdout
    assert re.search(r'masking 2x3x96x128 with CombinedMask', proc.stdout)
    assert LAST_LINE.match(proc.stdout.strip().splitlines()[-1])


def test_speed_table_script_prints_a_row_per_selected_run(tmp_path):
    """tools/analysis_tools/maskanynet_speed_table.sh, one row selected and
    shrunk to a CPU-sized step: the markdown row carries compare_speed's
    ratio, and the masking micro-benchmark line follows."""
    proc = run_tool([
        'analysis_tools/maskanynet_speed_table.sh', '--device', 'cpu',
        '--batch-size', '2', '--shape', '64', '--iters', '1', '--warmup',
        '0', '--no-memory'
    ], tmp_path, timeout=300,
        env=dict(ONLY='^ResNet-50 add train$', MODES='train',
                 LOG_DIR=str(tmp_path / 'logs')))
    rows = [line for line in proc.stdout.splitlines()
            if line.startswith('| ResNet-50')]
    assert len(rows) == 1
    name, mode, ratio, peak_a, peak_b = rows[0].strip('| ').split(' | ')
    assert (name, mode, peak_a, peak_b) == ('ResNet-50 add', 'train', '0.0',
                                            '0.0')
    logged = (tmp_path / 'logs' / 'ResNet-50_add_train.log').read_text()
    assert logged.strip().splitlines()[-1].startswith(f'ratio={ratio} ')
    assert re.search(r'^masking 64x3x64x64 with CombinedMask', proc.stdout,
                     re.M)
