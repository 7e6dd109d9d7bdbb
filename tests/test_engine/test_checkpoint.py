import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

import mmmaskreuse  # noqa: F401  (registers the loader)


def _runner_like_checkpoint(path):
    # what mmengine's Runner.save_checkpoint writes besides the weights
    torch.save(
        dict(
            state_dict={'w': torch.ones(2)},
            meta=dict(epoch=3, seed=np.int64(7)),
            message_hub=dict(
                log_scalars={'loss': HistoryBuffer([1.0, 0.5], [1, 1])},
                runtime_info={'epoch': 3})), path)


def test_full_checkpoints_load_on_torch_2_6_and_later(tmp_path):
    path = str(tmp_path / 'epoch_3.pth')
    _runner_like_checkpoint(path)
    # the trap: torch's default refuses mmengine's own checkpoints
    with pytest.raises(Exception, match='weights_only'):
        torch.load(path)
    checkpoint = _load_checkpoint(path, map_location='cpu')
    assert checkpoint['meta']['epoch'] == 3
    assert checkpoint['message_hub']['log_scalars']['loss'].current() == 0.5
    assert torch.equal(checkpoint['state_dict']['w'], torch.ones(2))


def test_missing_checkpoint_names_the_path(tmp_path):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        _load_checkpoint(missing)
