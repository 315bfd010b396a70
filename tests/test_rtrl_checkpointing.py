import numpy as np
import pytest

import explorer as ex
from explorer.gradcheck import relative_error


@pytest.mark.parametrize("act", ["tanh", "relu", "sigmoid", "linear"])
@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
def test_rtrl_equals_bptt(act, loss):
    rng = np.random.default_rng(0)
    model = ex.build_model("rnn", 3, 6, 2, activation=act, seed=1, scale=0.95)
    T, B = 25, 3
    X = rng.standard_normal((T, B, 3))
    y = rng.integers(0, 2, (T, B)) if loss == "cross_entropy" else rng.standard_normal((T, B, 2))
    mask = (rng.random((T, B)) < 0.5).astype(float)
    rec = ex.bptt(model, X, y, loss=loss, mask=mask)
    rt = ex.rtrl(model, X, y, loss=loss, mask=mask)
    for k in rec.grads:
        assert relative_error(rt.grads[k], rec.grads[k]) <= 1e-9, k
    assert rt.loss == pytest.approx(rec.trace.loss, rel=1e-12)
    assert rt.influence_floats == B * 6 * (6 * 3 + 6 * 6 + 6)


def test_rtrl_refuses_gated_cells():
    with pytest.raises(ValueError, match="vanilla RNN"):
        ex.rtrl(ex.build_model("lstm", 1, 2, 1), np.zeros((3, 1, 1)), np.zeros((3, 1), int))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "indrnn"])
def test_checkpointed_gradients_equal_plain_bptt(cell):
    rng = np.random.default_rng(1)
    model = ex.build_model(cell, 3, 7, 4, seed=2)
    T = 150
    X, y = rng.standard_normal((T, 2, 3)), rng.integers(0, 4, (T, 2))
    plain = ex.bptt(model, X, y)
    for budget in (ex.min_budget(T), 40, 100):
        ck = ex.checkpointed_bptt(model, X, y, budget=budget)
        assert ck.peak_stored_steps <= budget
        assert ck.extra_forward_steps > 0
        assert ck.peak_floats < ck.plain_floats
        assert ck.loss == pytest.approx(plain.trace.loss, rel=1e-13)
        for k in plain.grads:
            # same terms, summed per segment instead of in one GEMM: equal up to float64 summation order
            assert relative_error(ck.grads[k], plain.grads[k]) <= 1e-13, (k, budget)
    whole = ex.checkpointed_bptt(model, X, y, budget=T + 1)           # no checkpointing needed: bit-identical
    assert whole.extra_forward_steps == 0
    for k in plain.grads:
        np.testing.assert_array_equal(whole.grads[k], plain.grads[k])


def test_checkpoint_budget_errors_and_memory_saving():
    assert ex.min_budget(1000) == 64            # 2√1000 ≈ 63.2
    with pytest.raises(ValueError, match="budget must be ≥ 64"):
        ex.checkpointed_bptt(ex.build_model("rnn", 1, 4, 1), np.zeros((1000, 1, 1)), np.zeros((1000, 1), int),
                             budget=10)
    model = ex.build_model("rnn", 1, 16, 1)
    ck = ex.checkpointed_bptt(model, np.zeros((1000, 1, 1)), np.zeros((1000, 1), int), budget=64)
    assert ck.peak_floats / ck.plain_floats < 0.1          # ≥ 90 % less memory at T = 1000
