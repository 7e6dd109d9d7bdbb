"""The helper every command test runs through: a command that runs past its
time is killed with everything it started, so no stray process keeps a core
or a port for the tests after it."""
import os
import time

import pytest

from tests.conftest import free_port, run_tool


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie awaiting its parent's wait() no longer runs
    with open(f'/proc/{pid}/stat') as f:
        return f.read().split(')')[-1].split()[0] != 'Z'


def test_a_timed_out_command_is_killed_with_its_children(tmp_path):
    script = tmp_path / 'launcher.sh'
    # a launcher whose worker runs on after the launcher's own command
    script.write_text('sleep 300 &\necho $! > worker.pid\nsleep 300\n')
    with pytest.raises(AssertionError, match='ran past 2 s'):
        run_tool([str(script)], tmp_path, timeout=2)
    worker = int((tmp_path / 'worker.pid').read_text())
    deadline = time.time() + 5
    while _alive(worker) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(worker)


def test_free_ports_are_free_and_not_repeated():
    import socket
    ports = {free_port() for _ in range(5)}
    assert len(ports) > 1
    for port in ports:
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', port))
