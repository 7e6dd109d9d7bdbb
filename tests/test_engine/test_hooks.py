"""A diverging run stops at its first non-finite loss and says so."""
import math
from types import SimpleNamespace

import pytest
import torch

from mmmaskreuse.engine import StopOnInvalidLossHook


def runner(iteration=6, epoch=0):
    return SimpleNamespace(iter=iteration, epoch=epoch, work_dir='work_dirs/x')


def test_finite_terms_pass():
    hook = StopOnInvalidLossHook()
    hook.after_train_iter(runner(), 0, outputs=dict(
        loss=torch.tensor(1.5), loss_cls=torch.tensor(0.5), acc=97.0))


@pytest.mark.parametrize('bad', [math.nan, math.inf, -math.inf])
def test_a_non_finite_term_stops_naming_the_iteration_and_terms(bad):
    # what an mmdet detector logs: the total and each term
    outputs = dict(loss=torch.tensor(bad), loss_rpn_cls=torch.tensor(0.7),
                   loss_bbox=torch.tensor(bad))
    with pytest.raises(RuntimeError) as error:
        StopOnInvalidLossHook().after_train_iter(runner(), 0,
                                                 outputs=outputs)
    message = str(error.value)
    assert 'diverged at iteration 7 (epoch 1)' in message
    assert 'loss, loss_bbox not finite' in message
    assert 'loss_rpn_cls=0.7' in message


def test_interval_skips_the_iterations_between_checks():
    hook = StopOnInvalidLossHook(interval=4)
    nan = dict(loss=torch.tensor(math.nan))
    hook.after_train_iter(runner(iteration=5), 0, outputs=nan)
    with pytest.raises(RuntimeError, match='iteration 8'):
        hook.after_train_iter(runner(iteration=7), 0, outputs=nan)


@pytest.mark.parametrize('interval', [0, 1.5])
def test_bad_interval_fails_at_build(interval):
    with pytest.raises(ValueError, match=f'got {interval}'):
        StopOnInvalidLossHook(interval=interval)
