"""Every gradient the engine produces, against central differences (float64, relative error ≤ 1e-6)."""
import numpy as np
import pytest
from oracles import make_problem, masked_fd, stepwise_fd

import explorer as ex
from explorer.gradcheck import relative_error

TOL = 1e-6
CELL_ACTS = [("rnn", "tanh"), ("rnn", "relu"), ("rnn", "sigmoid"), ("rnn", "linear"), ("lstm", "tanh"),
             ("gru", "tanh"), ("indrnn", "tanh"), ("indrnn", "relu"), ("indrnn", "sigmoid"), ("indrnn", "linear")]
LOSSES = ["cross_entropy", "squared_error"]
SCHEMES = [ex.Full(), ex.TBPTT(1, 1), ex.TBPTT(1, 2), ex.TBPTT(2, 2), ex.TBPTT(2, 3), ex.TBPTT(3, 4),
           ex.TBPTT(2, 100), ex.Randomized(0.5, seed=3), ex.Randomized(0.8, seed=7)]


def assert_close(got, want, tol=TOL):
    assert set(got) == set(want)
    for k in want:
        err = relative_error(got[k], want[k])
        assert err <= tol, f"{k}: relative error {err:.2e} > {tol:.0e}"


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("cell,act", CELL_ACTS)
def test_full_bptt_matches_central_differences(cell, act, loss):
    model, X, targets, mask = make_problem(cell, act, loss, masked=True, T=6)
    rec = ex.bptt(model, X, targets, loss=loss, mask=mask)
    num = ex.numerical_gradient(model, X, targets, loss=loss, mask=mask)
    assert_close(rec.grads, num)
    assert rec.finite and rec.overflow_step is None


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("cell,act", CELL_ACTS)
def test_every_truncation_scheme_matches_central_differences(cell, act, loss):
    """Each scheme's gradient = Σ M[t,k] ∂ℓ_t/∂θ_k with ∂ℓ_t/∂θ_k from central differences on per-step
    parameter copies: the scheme computes exactly the (t, k) terms its mask says it keeps."""
    model, X, targets, _ = make_problem(cell, act, loss, T=5, seed=1)
    fd = stepwise_fd(model, X, targets, loss, None)
    trace = ex.forward(model, X, targets, loss=loss)
    for scheme in SCHEMES:
        rec = ex.backward(trace, scheme)
        assert_close(rec.grads, masked_fd(fd, scheme.mask(5)))
    # and the full sum over all (t, k ≤ t) is the ordinary gradient
    assert_close(masked_fd(fd, np.tril(np.ones((5, 5)))), ex.numerical_gradient(model, X, targets, loss=loss))


@pytest.mark.parametrize("cell,act", [("rnn", "tanh"), ("lstm", "tanh"), ("gru", "tanh"), ("indrnn", "relu")])
def test_temporal_contributions_and_connectivity_match_central_differences(cell, act):
    """G[t,k] = ‖∂ℓ_t/∂W_hh through step k‖_F and ‖∂ℓ_t/∂x_k‖, both from finite differences."""
    model, X, targets, _ = make_problem(cell, act, "cross_entropy", T=5, seed=2)
    trace = ex.forward(model, X, targets)
    res = ex.all_losses_backward(trace)
    fd = stepwise_fd(model, X, targets, "cross_entropy", None)
    name = model.cell.recurrent_term_name()
    T = 5
    for t in range(T):
        for k in range(T):
            want = np.linalg.norm(fd[name][t, k])
            if k > t:
                assert want < 1e-8 and res.G[t, k] == 0.0
            else:
                assert abs(res.G[t, k] - want) <= 1e-6 * max(want, 1e-3)
    # connectivity: perturb x_k, watch ℓ_t
    from oracles import step_losses
    conn = np.zeros((T, T))
    for k in range(T):
        for i in np.ndindex(X.shape[1:]):
            Xp, Xm = X.copy(), X.copy()
            Xp[(k,) + i] += 1e-6
            Xm[(k,) + i] -= 1e-6
            lp = step_losses(model, Xp, targets, "cross_entropy", None, lambda t: model.params)
            lm = step_losses(model, Xm, targets, "cross_entropy", None, lambda t: model.params)
            conn[:, k] += ((lp - lm) / 2e-6) ** 2
    conn = np.sqrt(conn)
    np.testing.assert_allclose(res.connectivity, conn, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(ex.loss_connectivity(trace), res.connectivity[-1], rtol=1e-12, atol=0)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("cell,act", CELL_ACTS)
def test_input_gradients_match_central_differences(cell, act, loss):
    """GradientRecord.input_gradients() = ∂L/∂x_t for every step, (T, B, D), against central differences on X."""
    model, X, targets, mask = make_problem(cell, act, loss, masked=True, T=6)
    got = ex.bptt(model, X, targets, loss=loss, mask=mask).input_gradients()
    assert got.shape == X.shape
    num = np.zeros_like(X)
    for i in np.ndindex(X.shape):
        Xp, Xm = X.copy(), X.copy()
        Xp[i] += 1e-6
        Xm[i] -= 1e-6
        num[i] = (ex.forward(model, Xp, targets, loss=loss, mask=mask).loss
                  - ex.forward(model, Xm, targets, loss=loss, mask=mask).loss) / 2e-6
    err = relative_error(got, num)
    assert err <= TOL, f"∂L/∂x: relative error {err:.2e} > {TOL:.0e}"


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "indrnn"])
def test_delta_is_the_gradient_of_the_loss_wrt_each_state(cell):
    """δ_t = ∂L/∂s_{t+1}: check it as ∂ℓ_t/∂s directly plus ∂L_{>t}/∂s_0 of the suffix started from that state,
    and ∂L/∂s_0 against central differences on s_0."""
    model, X, targets, _ = make_problem(cell, "tanh", "cross_entropy", T=6, seed=4)
    rec = ex.bptt(model, X, targets)
    tr = rec.trace
    direct = tr.dl_ds()
    for t in range(5):
        suffix = ex.bptt(model, X[t + 1:], targets[t + 1:], s0=tr.states[t + 1])
        np.testing.assert_allclose(rec.delta[t], direct[t] + suffix.d_s0, rtol=1e-12, atol=1e-15)
    s0 = np.random.default_rng(0).normal(0, 0.5, (X.shape[1], model.cell.state_size))
    rec0 = ex.bptt(model, X, targets, s0=s0)
    num = np.zeros_like(s0)
    for i in np.ndindex(s0.shape):
        sp, sm = s0.copy(), s0.copy()
        sp[i] += 1e-6
        sm[i] -= 1e-6
        num[i] = (ex.forward(model, X, targets, s0=sp).loss - ex.forward(model, X, targets, s0=sm).loss) / 2e-6
    assert relative_error(rec0.d_s0, num) < TOL


def test_per_step_terms_sum_to_the_gradient():
    model, X, targets, _ = make_problem("gru", "tanh", "cross_entropy", T=7, B=3)
    rec = ex.bptt(model, X, targets)
    total = sum(rec.per_step_term(t) for t in range(7))
    np.testing.assert_allclose(total, rec.grads["W_hh"], rtol=1e-12, atol=1e-15)
    norms = [np.linalg.norm(rec.per_step_term(t)) for t in range(7)]
    np.testing.assert_allclose(rec.term_norms["W_hh"], norms, rtol=1e-10)
    m2, X2, t2, _ = make_problem("indrnn", "relu", "cross_entropy", T=7, B=3)
    r2 = ex.bptt(m2, X2, t2)
    np.testing.assert_allclose(sum(r2.per_step_term(t) for t in range(7)), r2.grads["u"], rtol=1e-12)
    np.testing.assert_allclose(r2.term_norms["u"], [np.linalg.norm(r2.per_step_term(t)) for t in range(7)])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_bidirectional_matches_central_differences(cell):
    rng = np.random.default_rng(5)
    model = ex.build_bidirectional(cell, 2, 3, 3, seed=5)
    X = rng.standard_normal((5, 2, 2))
    targets = rng.integers(0, 3, (5, 2))
    rec = ex.bidirectional_bptt(model, X, targets)
    params = model.params
    for name, w in params.items():
        num = np.zeros_like(w)
        for i in np.ndindex(w.shape):
            old = w[i]
            w[i] = old + 1e-6
            lp = ex.bidirectional_bptt(model, X, targets).loss
            w[i] = old - 1e-6
            lm = ex.bidirectional_bptt(model, X, targets).loss
            w[i] = old
            num[i] = (lp - lm) / 2e-6
        assert relative_error(rec.grads[name], num) < TOL, name
    # gradient reaches step 0 from the future only through the forward chain, step T-1 from the past only
    # through the backward chain
    fwd_norm, bwd_norm = rec.delta_norms
    assert fwd_norm[0] > 0 and bwd_norm[-1] > 0


def test_float32_gradients_agree_with_float64():
    m64, X, targets, _ = make_problem("lstm", "tanh", "cross_entropy", T=20, B=4, H=8, seed=9)
    m32 = ex.model_from_params("lstm", m64.params, dtype="float32")
    g64 = ex.bptt(m64, X, targets).grads
    r32 = ex.bptt(m32, X, targets)
    for k, g in r32.grads.items():
        assert g.dtype == np.float32
        assert relative_error(g.astype(np.float64), g64[k]) < 1e-4
