#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args]
# GPUS processes per node via torchrun; honours NNODES, NODE_RANK,
# MASTER_ADDR and PORT (default: a free port on one node, else 29500).
# Without CUDA each process trains on the CPU (gloo). A run stopped by
# SIGTERM or Ctrl-C saves, then exits 128 + the signal (143, 130) and says
# how to resume; each rank ends with the launcher, should it be killed.
set -e
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}

if [ -z "$CONFIG" ] || [ -z "$GPUS" ]; then
    echo "usage: $0 CONFIG GPUS [train.py args]" >&2
    exit 2
fi

source "$(dirname "$0")/misc/dist_port.sh"

# exec: a signal to this script reaches torchrun (run by
# resumable_torchrun.py in its own process), which stops its workers;
# no empty PYTHONPATH entry (it would put the working directory on sys.path)
PYTHONPATH="$(dirname "$0")/..${PYTHONPATH:+:$PYTHONPATH}" \
exec "$PYTHON" "$(dirname "$0")/misc/resumable_torchrun.py" \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$(dirname "$0")/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
