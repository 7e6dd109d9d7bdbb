"""torchrun (same arguments) whose exit status says when a run stopped on a
signal after saving: 128 + the signal (143 for SIGTERM, 130 for SIGINT),
with a line saying how to resume, where torchrun itself exits 1.

``tools/dist_train.sh`` runs it. It runs torchrun in its own process, so a
signal to the script still reaches torchrun, which forwards it to the
ranks. The ranks' ``SafeCheckpointHook`` leaves the signal and the
checkpoint in a file this process names (``MMMASKREUSE_STOP_RECORD``) once
the checkpoint is complete; ``MMMASKREUSE_LAUNCHER_PID`` tells the ranks
whom to outlive no longer (``mmmaskreuse.engine.dist.end_with_launcher``).
Only torch is imported here: the launcher stays light.
"""
import os
import os.path as osp
import signal
import sys
import tempfile

from torch.distributed.elastic.multiprocessing import SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import main as torchrun


def main() -> None:
    record = osp.join(tempfile.gettempdir(),
                      f'mmmaskreuse-stopped-{os.getpid()}')
    os.environ['MMMASKREUSE_LAUNCHER_PID'] = str(os.getpid())
    os.environ['MMMASKREUSE_STOP_RECORD'] = record
    try:
        torchrun(sys.argv[1:])
    except (ChildFailedError, SignalException):
        if not osp.isfile(record):
            raise
        with open(record) as f:
            signum, checkpoint = f.read().split('\n')[:2]
        name = signal.Signals(int(signum)).name
        print(f'{sys.argv[0]}: the ranks stopped on {name} after saving '
              f'{checkpoint}: run the same command with --resume to '
              'continue from it', file=sys.stderr)
        sys.exit(128 + int(signum))
    finally:
        if osp.isfile(record):
            os.remove(record)


if __name__ == '__main__':
    # torchrun's own main returns, rather than exits, after --help
    sys.exit(main())
