"""seed_sweep.py runs train.py then test.py per seed, as a user would, and
aggregates; checked with a stand-in interpreter that records its calls."""
import json
import os
import subprocess
import sys

from tests.conftest import REPO

# train.py: records its arguments, writes last_checkpoint; test.py: prints
# a top-1 of 70 + seed (read back from the checkpoint name)
STAND_IN = r'''#!/bin/bash
printf "%s\n" "$*" >> "$CALLS"
if [[ "$1" == */train.py ]]; then
    dir=$4; mkdir -p "$dir"
    all="$*"; seed=${all##*randomness.seed=}; seed=${seed%% *}
    echo "$dir/epoch_$seed.pth" > "$dir/last_checkpoint"
else
    seed=${3##*epoch_}; seed=${seed%.pth}
    echo "accuracy/top1: 1.0"
    echo "accuracy/top1: $((70 + seed)).5"
fi
'''


def test_seed_sweep_trains_and_tests_each_seed_and_aggregates(tmp_path):
    python = tmp_path / 'python'
    python.write_text(STAND_IN)
    python.chmod(0o755)
    calls = tmp_path / 'calls'
    work_dir = tmp_path / 'sweep'
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools', 'analysis_tools',
                                      'seed_sweep.py'), 'cfg.py', '--seeds',
         '0', '2', '--work-dir', str(work_dir), '--cfg-options',
         'model.backbone.fusion=residual'],
        env=dict(os.environ, PYTHON=str(python), CALLS=str(calls)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=60)
    assert proc.returncode == 0, proc.stdout
    lines = calls.read_text().splitlines()
    tools = os.path.join(REPO, 'tools')
    assert lines == [
        f'{tools}/train.py cfg.py --work-dir {work_dir}/seed0 --cfg-options '
        'randomness.seed=0 model.backbone.fusion=residual',
        f'{tools}/test.py cfg.py {work_dir}/seed0/epoch_0.pth --work-dir '
        f'{work_dir}/seed0 --cfg-options model.backbone.fusion=residual',
        f'{tools}/train.py cfg.py --work-dir {work_dir}/seed2 --cfg-options '
        'randomness.seed=2 model.backbone.fusion=residual',
        f'{tools}/test.py cfg.py {work_dir}/seed2/epoch_2.pth --work-dir '
        f'{work_dir}/seed2 --cfg-options model.backbone.fusion=residual',
    ]
    # the last value each test printed; sample standard deviation
    assert proc.stdout.splitlines()[-1] == (
        'accuracy/top1: 71.50 +- 1.41 over seeds 0 2 (70.50 72.50)')
    summary = json.loads((work_dir / 'sweep.json').read_text())
    assert summary['values'] == {'0': 70.5, '2': 72.5}


def test_seed_sweep_names_a_failing_run(tmp_path):
    python = tmp_path / 'python'
    python.write_text('#!/bin/bash\necho "config broke"\nexit 3\n')
    python.chmod(0o755)
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools', 'analysis_tools',
                                      'seed_sweep.py'), 'cfg.py',
         '--work-dir', str(tmp_path)],
        env=dict(os.environ, PYTHON=str(python)), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=60)
    assert proc.returncode != 0
    assert 'train.py cfg.py' in proc.stdout and 'failed (3)' in proc.stdout
    assert 'config broke' in proc.stdout
