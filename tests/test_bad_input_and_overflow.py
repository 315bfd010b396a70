import warnings

import numpy as np
import pytest

import explorer as ex


def test_invalid_arguments_name_the_argument():
    cases = [
        (lambda: ex.build_model("rnn", 1, 0, 1), "hidden_size"),
        (lambda: ex.build_model("rnn", 1, -3, 1), "hidden_size"),
        (lambda: ex.build_model("rnn", 0, 4, 1), "input_size"),
        (lambda: ex.build_model("transformer", 1, 4, 1), "cell"),
        (lambda: ex.build_model("rnn", 1, 4, 1, activation="gelu"), "activation"),
        (lambda: ex.build_model("lstm", 1, 4, 1, activation="relu"), "activation"),
        (lambda: ex.build_model("rnn", 1, 4, 1, init="he"), "init"),
        (lambda: ex.build_model("rnn", 1, 4, 1, scale=float("nan")), "scale"),
        (lambda: ex.build_model("rnn", 1, 4, 1, seed=-1), "seed"),
        (lambda: ex.build_model("rnn", 1, 4, 1, dtype="float16"), "dtype"),
        (lambda: ex.TBPTT(5, 3), "k2 must be ≥ k1"),
        (lambda: ex.TBPTT(0, 3), "k1"),
        (lambda: ex.Randomized(0.0), "keep_prob"),
        (lambda: ex.Randomized(1.5), "keep_prob"),
    ]
    for make, word in cases:
        with pytest.raises(ValueError, match=word):
            make()


def test_bad_sequences_and_targets():
    m = ex.build_model("rnn", 2, 4, 3)
    with pytest.raises(ValueError, match=r"T \(the sequence length, X.shape\[0\]\) must be ≥ 1"):
        ex.forward(m, np.zeros((0, 1, 2)))                          # T = 0
    with pytest.raises(ValueError, match="X must have 3 dimensions"):
        ex.forward(m, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="D = input_size = 2"):
        ex.forward(m, np.zeros((5, 1, 3)))
    X = np.zeros((5, 1, 2))
    X[3, 0, 1] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(first at index \(3, 0, 1\)\)"):
        ex.forward(m, X)
    X = np.zeros((5, 1, 2))
    with pytest.raises(ValueError, match="class indices in \\[0, 2\\]"):
        ex.bptt(m, X, np.full((5, 1), 3))
    with pytest.raises(ValueError, match="shape \\(T, B\\)"):
        ex.bptt(m, X, np.zeros((4, 1), int))
    with pytest.raises(ValueError, match="shape \\(T, B, O\\)"):
        ex.bptt(m, X, np.zeros((5, 1)), loss="squared_error")
    with pytest.raises(ValueError, match="loss must be one of"):
        ex.bptt(m, X, np.zeros((5, 1), int), loss="hinge")
    with pytest.raises(ValueError, match="mask must have shape"):
        ex.bptt(m, X, np.zeros((5, 1), int), mask=np.ones(4))
    with pytest.raises(ValueError, match="s0 must have shape"):
        ex.forward(m, X, s0=np.zeros(7))
    with pytest.raises(ValueError, match="no loss"):
        ex.backward(ex.forward(m, X))


@pytest.mark.parametrize("cell,act", [("rnn", "relu"), ("rnn", "linear"), ("indrnn", "relu")])
def test_exploding_settings_never_raise_or_warn_and_report_the_overflow_step(cell, act):
    """ρ = 3, ReLU, T = 1000: values pass 1e308 around step 640; everything before stays valid."""
    model = ex.build_model(cell, 1, 8, 1, activation=act, init="orthogonal", scale=3.0, seed=0)
    if cell == "rnn":
        model.params["W_hh"] = 3.0 * np.eye(8)         # every unit grows 3× per step, for sure
    model.params["W_xh"] = np.abs(model.params["W_xh"]) + 0.1
    X = np.ones((1000, 1, 1))
    y = np.zeros((1000, 1, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")                    # any NumPy warning fails the test
        rec = ex.bptt(model, X, y, loss="squared_error")
        jp = ex.jacobian_products(rec.trace)
        conn = ex.loss_connectivity(rec.trace)
        G = ex.all_losses_backward(rec.trace).G
        ck = ex.checkpointed_bptt(model, X, y, loss="squared_error", budget=100)
    k = rec.overflow_step
    assert k is not None and 300 < k < 1000
    tr = rec.trace
    # steps before k are finite; at step k the state or its loss (h² here, ~3^(2k)) is not
    assert np.all(np.isfinite(tr.states[: k + 1])) and np.all(np.isfinite(tr.losses[:k]))
    assert not (np.all(np.isfinite(tr.states[k + 1])) and np.all(np.isfinite(tr.losses[k])))
    assert np.all(np.isnan(rec.delta[k:]))
    assert jp.T_end == k and np.all(np.isfinite(jp.log_norm))
    assert np.all(np.isfinite(conn[:k])) and np.all(np.isnan(conn[k:]))
    assert np.all(np.isnan(G[k:])) and np.all(np.isfinite(G[:k, :k]))
    assert ck.overflow_step == k
    # the gradient is that of the loss up to the overflow: the same as running the first k steps alone
    # (the backward pass itself may overflow going back; then the latest non-finite step is reported)
    short = ex.bptt(model, X[:k], y[:k], loss="squared_error")
    assert rec.backward_overflow_step == short.backward_overflow_step
    if short.finite:
        for name in short.grads:
            np.testing.assert_allclose(rec.grads[name], short.grads[name], rtol=1e-12)
    else:
        # either δ overflowed going back (reported, finite after it) or δ is finite and the sums Σ_t δ·hᵀ overflowed
        b = rec.backward_overflow_step
        start = 0 if b is None else b + 1
        assert np.all(np.isfinite(rec.delta[start:k]))
        assert not rec.finite


def test_steps_without_a_target_never_report_an_overflow_of_their_loss():
    """ReLU with ρ = 3: the squared output passes 1e308 around step 320, the state itself only near step 640.
    With the target at the last step only, the earlier (masked) steps must contribute 0, not ∞ · 0 = NaN."""
    model = ex.build_model("rnn", 1, 8, 1, activation="relu", init="identity", scale=3.0)
    model.params["W_xh"] = np.abs(model.params["W_xh"]) + 0.1
    X, y = np.ones((1000, 1, 1)), np.zeros((1000, 1, 1))
    mask = np.zeros(1000)
    mask[-1] = 1
    every = ex.forward(model, X, y, loss="squared_error")
    last = ex.forward(model, X, y, loss="squared_error", mask=mask)
    assert 300 < every.overflow_step < 400                     # the loss overflows first when every step counts
    assert last.overflow_step > 600                            # here only the state can overflow
    assert np.all(np.isfinite(last.states[: last.overflow_step + 1]))
    assert np.all(last.losses[: last.overflow_step] == 0)


def test_tanh_with_huge_weights_saturates_without_overflow():
    model = ex.build_model("rnn", 1, 16, 1, scale=50.0, seed=0)
    X = np.random.default_rng(0).standard_normal((1000, 1, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec = ex.bptt(model, X, np.zeros((1000, 1, 1)), loss="squared_error")
    assert rec.overflow_step is None and rec.finite
