# Sourced by tools/dist_train.sh and tools/dist_test.sh: sets PORT. On one
# node without PORT, a free port; on node 0, a busy PORT is named here
# rather than left for torchrun to wait on.
if [ -z "${PORT:-}" ] && [ "$NNODES" = 1 ]; then
    PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
fi
PORT=${PORT:-29500}
if [ "$NODE_RANK" = 0 ] && ! "$PYTHON" -c 'import socket, sys; socket.socket().bind(("", int(sys.argv[1])))' "$PORT" 2>/dev/null; then
    echo "$0: port $PORT is in use; set PORT to a free port" >&2
    exit 2
fi
