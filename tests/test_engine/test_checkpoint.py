import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

from mmmaskreuse.engine import TRUST_ENV, load_checked, weight_mismatch
from mmmaskreuse.engine.checkpoint import _history_buffer_getattr
from tests.conftest import serve_over_http


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


class _RunsACommand:
    """Unpickling this runs ``touch marker``: what a hostile file does."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def hostile_checkpoint(path, marker):
    torch.save(dict(state_dict={'w': torch.ones(2)},
                    meta=_RunsACommand(marker)), path)
    return str(path)


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)
    marker = tmp_path / 'ran'
    path = hostile_checkpoint(tmp_path / 'evil.pth', marker)
    with pytest.raises(RuntimeError) as error:
        _load_checkpoint(path)
    assert f'refusing to unpickle {path}' in str(error.value)
    assert 'system' in str(error.value)  # the refused global is named
    assert '--trust-checkpoint' in str(error.value)
    assert not marker.exists()
    # the explicit opt-in unpickles fully, code and all
    monkeypatch.setenv(TRUST_ENV, '1')
    _load_checkpoint(path)
    assert marker.exists()


def test_checkpoints_over_http_load_as_safely_as_local_ones(
        tmp_path, monkeypatch):
    """mmengine's http(s) loader unpickles fully through torch.hub: ours
    loads a training checkpoint and refuses one that would run code."""
    monkeypatch.delenv(TRUST_ENV, raising=False)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    served = tmp_path / 'zoo'
    served.mkdir()
    _runner_like_checkpoint(served / 'epoch_3.pth')
    marker = tmp_path / 'ran'
    hostile_checkpoint(served / 'evil.pth', marker)
    with serve_over_http(served) as url:
        checkpoint = _load_checkpoint(f'{url}/epoch_3.pth')
        assert checkpoint['meta']['epoch'] == 3
        with pytest.raises(RuntimeError,
                           match=f'refusing to unpickle {url}/evil.pth'):
            _load_checkpoint(f'{url}/evil.pth')
    assert not marker.exists()
    assert 'TORCH_FORCE_WEIGHTS_ONLY_LOAD' not in os.environ


def test_getattr_is_allowed_on_the_history_buffer_statistics_only():
    assert _history_buffer_getattr(HistoryBuffer, 'mean') is (
        HistoryBuffer.mean)
    with pytest.raises(pickle.UnpicklingError, match='register_statistics'):
        _history_buffer_getattr(HistoryBuffer, 'register_statistics')
    with pytest.raises(pickle.UnpicklingError, match='system'):
        _history_buffer_getattr(os, 'system')


def test_weight_mismatch_names_missing_unexpected_and_mis_shaped_weights(
        tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    full = tmp_path / 'full.pth'
    torch.save(dict(state_dict={f'module.{k}': v
                                for k, v in model.state_dict().items()}),
               full)
    assert not weight_mismatch(model, str(full))
    partial = tmp_path / 'partial.pth'
    torch.save(dict(state_dict={'0.weight': torch.ones(2, 2)}), partial)
    assert weight_mismatch(model, str(partial)).missing == [
        '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var',
        '1.num_batches_tracked'
    ]
    # every key there, one of another shape and one the model lacks: what a
    # head for 3 classes, or a MaskAnyNet checkpoint on its twin, looks like
    other = dict(model.state_dict(), **{'0.weight': torch.ones(3, 2),
                                        'reuse_stem.weight': torch.ones(1)})
    mismatch = weight_mismatch(model, dict(state_dict=other))
    assert mismatch.missing == []
    assert mismatch.unexpected == ['reuse_stem.weight']
    assert mismatch.mis_shaped == [('0.weight', (3, 2), (2, 2))]
    assert mismatch.describe('other.pth', 'model.py') == (
        'other.pth does not fit the model of model.py: it holds 1 weights '
        'the model has no entry for (reuse_stem.weight); it holds 1 weights '
        "of another shape than the model's (0.weight: [3, 2] in the "
        'checkpoint, [2, 2] in the model)')
    # the prefix an init_cfg loads with
    assert not weight_mismatch(
        model, {f'backbone.{k}': v for k, v in model.state_dict().items()},
        prefix='backbone.')


def test_load_checked_refuses_what_does_not_fit_and_loads_what_does(
        tmp_path):
    model = torch.nn.Linear(2, 2)
    path = tmp_path / 'wide.pth'
    torch.save(dict(state_dict=dict(weight=torch.ones(3, 2),
                                    bias=torch.ones(3))), path)
    with pytest.raises(ValueError, match=f'{path} does not fit the model of '
                       'linear.py: it holds 2 weights of another shape'):
        load_checked(model, str(path), 'linear.py')
    torch.save(dict(state_dict=dict(weight=torch.ones(2, 2),
                                    bias=torch.ones(2)), meta=dict(seed=1)),
               path)
    assert load_checked(model, str(path), 'linear.py')['meta'] == dict(seed=1)
    assert torch.equal(model.weight, torch.ones(2, 2))
