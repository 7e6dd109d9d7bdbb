#!/usr/bin/env bash
# One idempotent setup for CPU machines: a local virtualenv with the pinned
# OpenMMLab stack and this package in editable mode.
#
#   VENV     virtualenv folder (default .venv)
#   PYTHON   interpreter that creates it (default python3)
#   MMMASKREUSE_CACHE  where built wheels are kept across clones
#            (default ~/.cache/mmmaskreuse)
#
# mmcv 2.1.0 has no wheel for torch 2.13, so it is compiled once with its ops
# (~9 min on 2 cores) and the wheel is cached, keyed by python/torch/mmcv.
# A second run on a set-up machine checks the stamp and the imports; a run
# that finds the same installed packages as the last passing check (names,
# versions, install times, the interpreter) skips the 8-s import check too.
# Installs sharing the cache take turns on it (a lock file in it), and a
# cached wheel that is not a complete zip is built again, not installed.
set -euo pipefail
cd "$(dirname "$0")/../.."  # the repository root

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
CACHE=${MMMASKREUSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmmaskreuse}
TORCH=2.13.0
TORCHVISION=0.28.0
MMCV=2.1.0
# '===' asks for exactly 2.13.0: the standard build, whose torchvision ops
# load, not the local '2.13.0+cpu' file some machines carry.
STACK="torch===$TORCH torchvision==$TORCHVISION mmcv==$MMCV mmengine==0.10.7 \
mmpretrain==1.2.0 mmdet==3.3.0 mmsegmentation==1.2.2 grad-cam==1.5.7 ftfy regex \
openmim==0.3.9 pytest pytest-cov"
STAMP="$VENV/.mmmaskreuse-stack"
CHECKED="$VENV/.mmmaskreuse-checked"  # installed_packages at the last check
# an array, so that a VENV path with a space stays one word
PIP=("$VENV/bin/pip" --disable-pip-version-check)

check_imports() {
    "$VENV/bin/python" - <<'PY'
import mmcv.ops, mmdet, mmpretrain, mmseg, torchvision.ops  # noqa: F401
import pkg_resources, pytorch_grad_cam, sklearn.manifold  # noqa: F401
import mim.cli  # noqa: F401
import mmmaskreuse
print(f'mmmaskreuse {mmmaskreuse.__version__} ready '
      f'(torch {__import__("torch").__version__}, mmcv {mmcv.__version__})')
PY
}

wheel_ok() {  # a complete zip whose every member reads back with its CRC
    "$VENV/bin/python" -c 'import sys, zipfile
sys.exit(zipfile.ZipFile(sys.argv[1]).testzip() is not None)' "$1" 2>/dev/null
}

installed_packages() {  # the interpreter, and each distribution's folder
    readlink -f "$VENV/bin/python"  # and install time: pip rewrites both
    stat -c '%n %Y' "$VENV"/lib/python*/site-packages/*.dist-info \
        2>/dev/null || true
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STACK" ]; then
    if [ -f "$CHECKED" ] && [ "$(cat "$CHECKED")" = "$(installed_packages)" ]; then
        echo "mmmaskreuse: $VENV is set up (no package changed since its" \
            "import check)"
        exit 0
    fi
    if check_imports 2>/dev/null; then
        installed_packages > "$CHECKED"
        exit 0
    fi
fi
rm -f "$CHECKED"

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"${PIP[@]}" install -q "torch===$TORCH" "torchvision==$TORCHVISION"
# mmcv's setup.py and mmengine's `mmdet::` config lookup use pkg_resources:
# keep a setuptools that has it. pip warns that torch asks for >=77; torch
# only needs it to build C++ extensions, which mmcv's build covers here.
"${PIP[@]}" install -q "setuptools<70" wheel

PYTAG=$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
DEVICE=$("$VENV/bin/python" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
WHEELS="$CACHE/wheels/$PYTAG-torch$TORCH-mmcv$MMCV-$DEVICE"

# The wheel cache is shared by every clone on the machine: one install at a
# time builds, checks and installs from it (the rest touches only this
# clone's venv). The lock is on an open file: it ends with the script.
mkdir -p "$CACHE"
LOCK="$CACHE/.lock"
if command -v flock >/dev/null; then
    exec {lock_fd}>"$LOCK"
    if ! flock -n "$lock_fd"; then
        echo "waiting for another install using the wheel cache $CACHE" \
            "(lock $LOCK)"
        flock "$lock_fd"
    fi
else
    echo "warning: flock (util-linux) not found: using the wheel cache" \
        "$CACHE without a lock; do not run two installs at once" >&2
fi

shopt -s nullglob
for whl in "$WHEELS"/mmcv-"$MMCV"-*.whl; do
    if ! wheel_ok "$whl"; then
        echo "cached wheel $whl is incomplete or corrupt (an interrupted" \
            "build or copy?): removing it and building it again"
        rm -f "$whl"
    fi
done
cached=("$WHEELS"/mmcv-"$MMCV"-*.whl)
if [ ${#cached[@]} -eq 0 ]; then
    echo "building mmcv $MMCV with ops into $WHEELS (about 9 min on 2 cores)"
    # what an interrupted build left there is never moved into the cache
    rm -rf "$WHEELS.partial"
    mkdir -p "$WHEELS"
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "${PIP[@]}" wheel -q --no-build-isolation --no-deps "mmcv==$MMCV" \
        -w "$WHEELS.partial"
    mv "$WHEELS.partial"/mmcv-*.whl "$WHEELS"/
    rmdir "$WHEELS.partial"
    cached=("$WHEELS"/mmcv-"$MMCV"-*.whl)
fi
shopt -u nullglob
"${PIP[@]}" install -q --no-deps "${cached[@]}"
if [ -n "${lock_fd-}" ]; then
    exec {lock_fd}>&-  # the cache is free for the next install
fi
# mmcv's runtime requirements, then the rest of the stack
"${PIP[@]}" install -q addict packaging Pillow pyyaml yapf opencv-python \
    mmengine==0.10.7 mmpretrain==1.2.0 mmdet==3.3.0 mmsegmentation==1.2.2 \
    ftfy regex pytest pytest-cov
# grad-cam (Grad-CAM tool) without its requirements: pip would resolve its
# torch again (and pick another torch, or a setuptools without
# pkg_resources) and add opencv-python-headless over opencv-python's cv2
"${PIP[@]}" install -q --no-deps grad-cam==1.5.7 ttach==0.0.3
# openmim (`mim train/test/search mmmaskreuse`) without opendatalab, which
# it lists but never imports and whose openxlab pins older requests and
# setuptools over the stack's; what mim imports comes by name
"${PIP[@]}" install -q --no-deps openmim==0.3.9
"${PIP[@]}" install -q tabulate colorama requests pandas
"${PIP[@]}" install -q scikit-learn scipy tqdm matplotlib
"${PIP[@]}" install -q --no-deps -e .
check_imports
echo "$STACK" > "$STAMP"
installed_packages > "$CHECKED"
