"""Stacked (deep) recurrent networks, issue #17: every gradient through time and depth against central differences
(float64, relative error ≤ 1e-6), per layer and per truncation scheme; the per-layer records; the layer-to-layer
Jacobians; checkpointing, clipping and save/load of L = 2, 3 models.

The oracle here is independent of explorer.stacked: it runs the stack one step at a time with the single-layer
cells (`stack_step_losses`), so per-step parameter copies and nudged states are easy to inject."""
import io

import numpy as np
import pytest
from optional import needs
from oracles import masked_fd

import explorer as ex
from explorer import losses as LS
from explorer.gradcheck import relative_error
from explorer.model import layer_key, layers_in
from explorer.persistence import load_model, model_bytes

TOL = 1e-6
EPS = 1e-5       # central differences: O(ε²) ≈ 1e-10 truncation, rounding 1e-16/ε ≈ 1e-11 (1e-6 loses digits at L = 3)
CELL_ACTS = [("rnn", "tanh"), ("rnn", "relu"), ("rnn", "sigmoid"), ("rnn", "linear"), ("lstm", "tanh"),
             ("gru", "tanh"), ("indrnn", "tanh"), ("indrnn", "relu"), ("indrnn", "sigmoid"), ("indrnn", "linear")]
LOSSES = ["cross_entropy", "squared_error"]
SCHEMES = [ex.Full(), ex.TBPTT(1, 1), ex.TBPTT(1, 2), ex.TBPTT(2, 2), ex.TBPTT(2, 3), ex.TBPTT(2, 100),
           ex.Randomized(0.5, seed=3), ex.Randomized(0.8, seed=7)]


def make_stack(cell, act, loss, L, *, T=5, B=2, D=2, H=3, O=3, seed=0, bidirectional=False, masked=False):
    """A small seeded stack with non-zero biases (so every parameter matters), inputs, targets and a mask."""
    rng = np.random.default_rng(seed)
    model = ex.build_model(cell, D, H, O, activation=act, init="gaussian", scale=0.9, seed=seed, num_layers=L,
                           bidirectional=bidirectional)
    for k in model.params:
        if k.startswith("b"):
            model.params[k] = rng.normal(0, 0.3, model.params[k].shape)
        elif k.startswith("W_xh") and k != "W_xh":       # upper layers a little stronger: gradients reach layer 0
            model.params[k] *= 1.5
    X = rng.standard_normal((T, B, D))
    targets = rng.integers(0, O, (T, B)) if loss == "cross_entropy" else rng.standard_normal((T, B, O))
    mask = None
    if masked:
        mask = (rng.random((T, B)) < 0.6).astype(float)
        mask[-1] = 1.0
    return model, X, targets, mask


def assert_close(got, want, tol=TOL, what=""):
    assert set(got) == set(want)
    for k in want:
        err = relative_error(got[k], want[k])
        assert err <= tol, f"{what}{k}: relative error {err:.2e} > {tol:.0e}"


def stack_step_losses(model, X, targets, loss, mask, params_at=lambda t: None, nudge=None):
    """Per-step batch-mean losses ℓ_t of a unidirectional stack run one step at a time, layer by layer, with the
    single-layer cells; step t uses parameters params_at(t) (None: the model's). nudge = (t, l, index, ε) adds ε
    to h_t^{(l)}[index] (index = (b, i)) right after layer l computes it, before anything reads it."""
    T, B, _ = X.shape
    H, nl = model.hidden_size, model.num_layers
    m = LS.check_mask(mask, T, B, np.float64)
    s = [np.zeros((B, model.cell.state_size)) for _ in range(nl)]
    out = np.empty(T)
    for t in range(T):
        p = params_at(t) or model.params
        x = X[t:t + 1]
        for l in range(nl):
            cell = model.layer_cell(l)
            lp = {k: p[layer_key(k, l)] for k in cell.param_shapes()}
            st = cell.forward(lp, x, s[l]).states[1].copy()
            if nudge is not None and nudge[:2] == (t, l):
                st[nudge[2]] += nudge[3]
            s[l] = st
            x = st[None, :, :H]
        y = x @ p["W_hy"].T + p["b_y"]
        ell, _ = LS.per_step(loss, y, targets[t:t + 1], m[t:t + 1])
        out[t] = ell.sum() / B
    return out


def stack_stepwise_fd(model, X, targets, loss, eps=EPS):
    """FD[name][t, k] = ∂ℓ_t/∂θ_k: through the copy of θ (every layer's) used at step k only."""
    T = X.shape[0]
    base = model.params
    out = {}
    for name, w in base.items():
        fd = np.zeros((T, T) + w.shape)
        for i in np.ndindex(w.shape):
            for k in range(T):
                vals = []
                for sgn in (1, -1):
                    pert = dict(base)
                    pert[name] = w.copy()
                    pert[name][i] += sgn * eps
                    vals.append(stack_step_losses(model, X, targets, loss, None,
                                                  lambda t, pert=pert, k=k: pert if t == k else None))
                fd[(slice(None), k) + i] = (vals[0] - vals[1]) / (2 * eps)
        out[name] = fd
    return out




# --- the oracle itself ------------------------------------------------------------------------------------------
def test_the_step_by_step_oracle_is_the_stacked_forward():
    model, X, targets, mask = make_stack("lstm", "tanh", "cross_entropy", 3, masked=True)
    np.testing.assert_allclose(stack_step_losses(model, X, targets, "cross_entropy", mask),
                               ex.forward(model, X, targets, mask=mask).step_loss, rtol=1e-13)


# --- gradients ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("L", [2, 3])
@pytest.mark.parametrize("cell,act", CELL_ACTS)
def test_full_bptt_of_a_stack_matches_central_differences(cell, act, L, loss):
    model, X, targets, mask = make_stack(cell, act, loss, L, masked=True, T=6)
    rec = ex.bptt(model, X, targets, loss=loss, mask=mask)
    num = ex.numerical_gradient(model, X, targets, loss=loss, mask=mask, eps=EPS)
    assert set(rec.grads) == set(model.param_shapes()) and any(k.endswith(f"_l{L - 1}") for k in rec.grads)
    assert_close(rec.grads, num)
    assert rec.finite and rec.overflow_step is None


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("L", [2, 3])
@pytest.mark.parametrize("cell,act", CELL_ACTS)
def test_every_truncation_scheme_of_a_stack_matches_central_differences(cell, act, L, loss):
    """Each scheme's gradient = Σ M[t,k] ∂ℓ_t/∂θ_k, θ_k being every layer's parameters at step k (central
    differences on per-step copies): truncation cuts the same temporal edges in every layer and no vertical one.
    The all-losses pass gives the same masked gradients, and its G_by_layer[l][t, k] = ‖∂ℓ_t/∂W_hh^{(l)}_k‖."""
    T = 5
    model, X, targets, _ = make_stack(cell, act, loss, L, T=T, seed=1)
    fd = stack_stepwise_fd(model, X, targets, loss)
    trace = ex.forward(model, X, targets, loss=loss)
    for scheme in SCHEMES:
        assert_close(ex.backward(trace, scheme).grads, masked_fd(fd, scheme.mask(T)), what=f"{scheme.label()}: ")
    masks = np.stack([ex.TBPTT(2, 3).mask(T), ex.Randomized(0.6, seed=2).mask(T), np.tril(np.ones((T, T)))])
    res = ex.all_losses_backward(trace, masks)
    for M, g in zip(masks, res.grads):
        assert_close(g, masked_fd(fd, M), what="all_losses_backward: ")
    assert_close(masked_fd(fd, np.tril(np.ones((T, T)))),
                 ex.numerical_gradient(model, X, targets, loss=loss, eps=EPS))
    rec_name = model.cell.recurrent_term_name()
    assert res.G_by_layer.shape == (L, T, T) and np.array_equal(res.G, res.G_by_layer[-1])
    for l in range(L):
        want = np.linalg.norm(fd[layer_key(rec_name, l)].reshape(T, T, -1), axis=-1)
        np.testing.assert_allclose(np.tril(res.G_by_layer[l]), np.tril(want), rtol=1e-6, atol=1e-9)
        assert np.all(res.G_by_layer[l][np.triu_indices(T, 1)] == 0.0) and np.all(want[np.triu_indices(T, 1)] < 1e-8)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("L", [1, 2, 3])
@pytest.mark.parametrize("cell,act", [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh"),
                                      ("indrnn", "tanh")])
def test_bidirectional_stack_matches_central_differences(cell, act, L, loss):
    model, X, targets, mask = make_stack(cell, act, loss, L, masked=True, bidirectional=True)
    rec = ex.bptt(model, X, targets, loss=loss, mask=mask)
    assert layer_key(model.cell.recurrent_term_name(), L - 1, True) in rec.grads and rec.grads["W_hy"].shape == (3, 6)
    assert_close(rec.grads, ex.numerical_gradient(model, X, targets, loss=loss, mask=mask, eps=EPS))
    # ∂L/∂x from both directions of layer 0
    num = np.zeros_like(X)
    for i in np.ndindex(X.shape):
        Xp, Xm = X.copy(), X.copy()
        Xp[i] += EPS
        Xm[i] -= EPS
        num[i] = (ex.forward(model, Xp, targets, loss=loss, mask=mask).loss
                  - ex.forward(model, Xm, targets, loss=loss, mask=mask).loss) / (2 * EPS)
    assert relative_error(rec.input_gradients(), num) <= TOL
    # the reverse direction's δ reaches step T−1 from the earlier losses, the forward one step 0 from the later
    d = rec.delta_by_layer
    assert d.shape == (L, 5, 2, 6) and np.linalg.norm(d[0, -1, :, 3:]) > 0 and np.linalg.norm(d[0, 0, :, :3]) > 0


def test_a_bidirectional_stack_refuses_truncation_and_the_causal_maps():
    model, X, targets, _ = make_stack("gru", "tanh", "cross_entropy", 2, bidirectional=True)
    trace = ex.forward(model, X, targets)
    for scheme in (ex.TBPTT(2, 2), ex.Randomized(0.5)):
        with pytest.raises(ValueError, match="full BPTT only"):
            ex.backward(trace, scheme)
    with pytest.raises(ValueError, match="causal"):
        ex.all_losses_backward(trace)
    with pytest.raises(ValueError, match="unidirectional"):
        ex.checkpointed_bptt(model, X, targets)


@pytest.mark.parametrize("L", [2, 3])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "indrnn"])
def test_delta_of_every_layer_is_the_gradient_of_the_loss_wrt_that_layers_state(cell, L):
    """δ_t^{(l)} = ∂L/∂h_t^{(l)} (and ∂L/∂c_t^{(l)} for the LSTM): nudge h_t^{(l)} after layer l computes it and
    watch L; ∂L/∂s_0^{(l)} against central differences on s_0."""
    model, X, targets, mask = make_stack(cell, "tanh", "cross_entropy", L, T=4, seed=4, masked=True)
    rec = ex.bptt(model, X, targets, mask=mask)
    T, B, H = 4, 2, model.hidden_size
    full = np.stack([[r.delta for r in rs][0] for rs in rec.runs])           # (L, T, B, S)
    num = np.zeros_like(full)
    for l in range(L):
        for t in range(T):
            for i in np.ndindex(B, model.cell.state_size):
                up = stack_step_losses(model, X, targets, "cross_entropy", mask, nudge=(t, l, i, EPS)).sum()
                dn = stack_step_losses(model, X, targets, "cross_entropy", mask, nudge=(t, l, i, -EPS)).sum()
                num[(l, t) + i] = (up - dn) / (2 * EPS)
    assert relative_error(full, num) <= TOL
    np.testing.assert_array_equal(rec.delta_by_layer, full[..., :H])
    np.testing.assert_array_equal(rec.delta, full[-1])                      # the single-layer field: the top's
    assert rec.delta_norms_by_layer.shape == (L, T)
    np.testing.assert_allclose(rec.delta_norms_by_layer[-1], rec.delta_norms, rtol=1e-15)
    np.testing.assert_allclose(rec.delta_norms_by_layer, np.linalg.norm(num[..., :H], axis=(2, 3)), rtol=1e-5)
    if cell == "lstm":
        np.testing.assert_allclose(rec.delta_c_norms_by_layer, np.linalg.norm(num[..., H:], axis=(2, 3)), rtol=1e-5)
    else:
        assert rec.delta_c_norms_by_layer is None
    s0 = np.random.default_rng(0).normal(0, 0.5, (L, B, model.cell.state_size))
    rec0 = ex.bptt(model, X, targets, s0=s0)
    assert rec0.d_s0_by_layer.shape == s0.shape
    g = np.zeros_like(s0)
    for i in np.ndindex(s0.shape):
        sp, sm = s0.copy(), s0.copy()
        sp[i] += EPS
        sm[i] -= EPS
        g[i] = (ex.forward(model, X, targets, s0=sp).loss - ex.forward(model, X, targets, s0=sm).loss) / (2 * EPS)
    assert relative_error(rec0.d_s0_by_layer, g) <= TOL


@pytest.mark.parametrize("cell,act", [("rnn", "tanh"), ("lstm", "tanh"), ("gru", "tanh"), ("indrnn", "relu")])
def test_connectivity_and_input_gradients_of_a_stack_match_central_differences(cell, act):
    model, X, targets, mask = make_stack(cell, act, "cross_entropy", 3, T=5, seed=2)
    trace = ex.forward(model, X, targets)
    res = ex.all_losses_backward(trace)
    T = 5
    conn = np.zeros((T, T))
    grad_x = np.zeros_like(X)
    for k in range(T):
        for i in np.ndindex(X.shape[1:]):
            Xp, Xm = X.copy(), X.copy()
            Xp[(k,) + i] += EPS
            Xm[(k,) + i] -= EPS
            d = (stack_step_losses(model, Xp, targets, "cross_entropy", None)
                 - stack_step_losses(model, Xm, targets, "cross_entropy", None)) / (2 * EPS)
            conn[:, k] += d ** 2
            grad_x[(k,) + i] = d.sum()
    np.testing.assert_allclose(res.connectivity, np.sqrt(conn), rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(ex.loss_connectivity(trace), res.connectivity[-1], rtol=1e-12, atol=0)
    np.testing.assert_allclose(ex.loss_connectivity(trace, 2)[:3], res.connectivity[2, :3], rtol=1e-12, atol=0)
    assert relative_error(ex.backward(trace).input_gradients(), grad_x) <= TOL


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "indrnn"])
def test_randomized_draws_and_term_norms_of_a_stack(cell):
    model, X, targets, _ = make_stack(cell, "tanh", "cross_entropy", 2, T=7, B=3)
    trace = ex.forward(model, X, targets)
    draws = ex.randomized_draws(trace, 0.6, 3, seed=5)
    for i, g in enumerate(draws):
        assert_close(g, ex.backward(trace, ex.Randomized(0.6, seed=5 + i)).grads, tol=1e-14)
    rec = ex.backward(trace)
    name = model.cell.recurrent_term_name()
    for l in range(2):
        terms = rec.layer_term_norms(l)
        key = layer_key(name, l)
        # Σ_t of the per-step terms is the gradient, term by term (dA_hh,tᵀ h_{t−1}^{(l)})
        run, cache = rec.runs[l][0], trace.caches[l][0]
        per_t = [model.layer_cell(l).per_step_term(run.dA_hh[t], cache.states[t, :, :3]) for t in range(7)]
        np.testing.assert_allclose(sum(per_t), rec.grads[key], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(terms[name], [np.linalg.norm(p) for p in per_t], rtol=1e-10)
    assert rec.term_norms is not None and np.array_equal(rec.term_norms[name], rec.layer_term_norms(1)[name])


# --- Jacobians ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "indrnn"])
def test_layer_to_layer_jacobians_match_central_differences(cell, bidirectional):
    """∂s_{t+1}^{(l)}/∂h_t^{(l−1)}: nudge what layer l reads at step t (its input x_t^{(l)}) and rerun that one
    step of its cell; and within a layer, J_t^{(l)} = ∂s_{t+1}^{(l)}/∂s_t^{(l)} the same way."""
    model, X, targets, _ = make_stack(cell, "tanh", "cross_entropy", 3, T=4, seed=6, bidirectional=bidirectional)
    trace = ex.forward(model, X, targets)
    T, S, dirs = 4, model.cell.state_size, model.directions
    for l in (1, 2):
        J = ex.layer_jacobians(trace, l, b=1)
        D_l = model.output_width
        assert J.shape == (T, dirs * S, D_l)
        cell_l = model.layer_cell(l)
        for d in range(dirs):
            p, cache = model.layer_params(l, d == 1), trace.caches[l][d]
            x = trace.inputs[l] if d == 0 else trace.inputs[l][::-1]
            for t in range(T):
                tau = T - 1 - t if d else t                   # the step of this direction that reads x_t
                num = np.zeros((S, D_l))
                for j in range(D_l):
                    xp, xm = x[tau:tau + 1, 1:2].copy(), x[tau:tau + 1, 1:2].copy()
                    xp[..., j] += EPS
                    xm[..., j] -= EPS
                    sp = cell_l.forward(p, xp, cache.states[tau, 1:2]).states[1, 0]
                    sm = cell_l.forward(p, xm, cache.states[tau, 1:2]).states[1, 0]
                    num[:, j] = (sp - sm) / (2 * EPS)
                np.testing.assert_allclose(J[t, d * S:(d + 1) * S], num, rtol=1e-7, atol=1e-9)
        Jt = ex.step_jacobians(trace, b=1, layer=l)
        num = np.zeros((T, S, S))
        cache = trace.caches[l][0]
        for t in range(T):
            for j in range(S):
                s_p, s_m = cache.states[t, 1:2].copy(), cache.states[t, 1:2].copy()
                s_p[0, j] += EPS
                s_m[0, j] -= EPS
                xt = trace.inputs[l][t:t + 1, 1:2]
                num[t, :, j] = (cell_l.forward(model.layer_params(l), xt, s_p).states[1, 0]
                                - cell_l.forward(model.layer_params(l), xt, s_m).states[1, 0]) / (2 * EPS)
        np.testing.assert_allclose(Jt, num, rtol=1e-7, atol=1e-9)
    if cell == "rnn" and not bidirectional:          # the closed form diag(φ'(a_t^{(l)})) W_xh^{(l)}
        J = ex.layer_jacobians(trace, 2, b=0)
        dphi = trace.caches[2][0].extras["dphi"][:, 0]
        np.testing.assert_allclose(J, dphi[:, :, None] * model.params["W_xh_l2"], rtol=1e-14)
    with pytest.raises(ValueError, match="layer must be in"):
        ex.layer_jacobians(trace, 0)


def test_jacobian_products_per_layer_and_the_top_by_default():
    model, X, targets, _ = make_stack("gru", "tanh", "cross_entropy", 3, T=8)
    trace = ex.forward(model, X, targets)
    top = ex.jacobian_products(trace)
    np.testing.assert_array_equal(top.log_norm, ex.jacobian_products(trace, layer=2).log_norm)
    for l in range(3):
        jp = ex.jacobian_products(trace, layer=l, spectrum=False)
        J = ex.step_jacobians(trace, layer=l)
        P = np.eye(3)
        for lag in range(1, 9):
            P = P @ J[8 - lag]
            assert np.log(np.linalg.norm(P, 2)) == pytest.approx(jp.log_norm[lag], rel=1e-10, abs=1e-12)
    assert not np.allclose(ex.jacobian_products(trace, layer=0).log_norm, top.log_norm)
    # recurrent_matrix / weight_spectrum: the top layer by default
    np.testing.assert_array_equal(model.recurrent_matrix(), model.params["W_hh_l2"][6:9])
    np.testing.assert_array_equal(model.recurrent_matrix(layer=0), model.params["W_hh"][6:9])


# --- models, checkpointing, clipping, files ---------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "indrnn"])
def test_build_model_stacks_layers_named_like_torch(cell):
    one = ex.build_model(cell, 2, 4, 3, seed=7, scale=0.8)
    two = ex.build_model(cell, 2, 4, 3, seed=7, scale=0.8, num_layers=2)
    three = ex.build_model(cell, 2, 4, 3, seed=7, scale=0.8, num_layers=3, bidirectional=True)
    G = ex.CELLS[cell].n_gates
    for k, v in one.params.items():                # layer 0 and the readout are the one-layer model's draws
        np.testing.assert_array_equal(two.params[k], v)
    assert list(two.params) == list(two.param_shapes())
    assert two.params["W_xh_l1"].shape == (G * 4, 4) and three.params["W_xh_l2_reverse"].shape == (G * 4, 8)
    assert three.params["W_hy"].shape == (3, 8) and three.output_width == 8
    assert layers_in(three.params) == (3, True) and layers_in(one.params) == (1, False)
    assert two.config["num_layers"] == 2 and three.config["bidirectional"] is True
    for l in range(3):                             # every layer is rescaled to the asked ρ
        for r in (False, True):
            assert np.max(np.abs(np.linalg.eigvals(three.recurrent_matrix(l, r)))) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="num_layers"):
        ex.build_model(cell, 2, 4, 3, num_layers=0)
    with pytest.raises(ValueError, match="bidirectional"):
        ex.build_model(cell, 2, 4, 3, bidirectional="yes")


def test_a_model_told_the_wrong_layer_count_is_refused_and_a_stream_carries_every_layer():
    model = ex.build_model("lstm", 2, 3, 2, num_layers=2, seed=1)
    with pytest.raises(ValueError, match="those of 2 layers, but the model is told it has 1 layer"):
        ex.Model(model.cell, model.params, 2)                 # e.g. a caller that rebuilds a Model without L
    with pytest.raises(ValueError, match="RTRL works on one unidirectional layer; this model has 2 layers"):
        model.require_single_layer("RTRL")
    ex.build_model("lstm", 2, 3, 2).require_single_layer("RTRL")
    assert ex.model_from_params("lstm", model.params).num_layers == 2      # told by the names
    # online TBPTT carries the state on: running 4 + 3 steps from state_at(4) is running 7 steps
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((7, 2, 2)), rng.integers(0, 2, (7, 2))
    whole = ex.forward(model, X, y)
    s4 = whole.state_at(4)
    assert s4.shape == (2, 2, 6)
    rest = ex.forward(model, X[4:], y[4:], s0=s4)
    np.testing.assert_allclose(rest.h_by_layer, whole.h_by_layer[:, 4:], rtol=1e-14, atol=1e-16)
    np.testing.assert_array_equal(ex.forward(ex.build_model("gru", 2, 3, 2), X).state_at(3).shape, (2, 3))
    with pytest.raises(ValueError, match=r"s0 of a 2-layer model must have shape \(L·dirs, B, S\)"):
        ex.forward(model, X, y, s0=np.zeros((2, 6)).reshape(1, 2, 6))


@pytest.mark.parametrize("L", [2, 3])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "indrnn"])
def test_checkpointed_stack_equals_plain_bptt(cell, L):
    model, X, targets, mask = make_stack(cell, "tanh", "cross_entropy", L, T=13, B=3, masked=True)
    want = ex.bptt(model, X, targets, mask=mask)
    for seg in (1, 3, 5, 13):
        ck = ex.checkpointed_bptt(model, X, targets, mask=mask, segment=seg)
        assert_close(ck.grads, want.grads, tol=1e-13)
        assert ck.loss == pytest.approx(want.trace.loss, rel=1e-14)
        assert ck.extra_forward_steps == 13 - (13 - 13 // seg * seg or seg)
    small = ex.checkpointed_bptt(model, X, targets, mask=mask, segment=4)
    assert small.peak_floats < small.plain_floats


def test_clipping_a_stacks_gradient_uses_every_layer():
    model, X, targets, _ = make_stack("lstm", "tanh", "cross_entropy", 3)
    g = ex.bptt(model, X, targets).grads
    norm = np.sqrt(sum(np.sum(v ** 2) for v in g.values()))
    res = ex.clip_by_global_norm(g, norm / 2)
    assert res.clipped and res.norm_before == pytest.approx(norm, rel=1e-14)
    assert res.norm_after == pytest.approx(norm / 2, rel=1e-12)
    for k in g:
        np.testing.assert_allclose(res.grads[k], g[k] / 2, rtol=1e-14)
    by_layer = ex.norms_by_layer(g)
    assert list(by_layer) == [0, 1, 2, "readout"]
    assert np.sqrt(sum(v ** 2 for v in by_layer.values())) == pytest.approx(norm, rel=1e-14)
    assert by_layer[1] == pytest.approx(np.sqrt(sum(np.sum(g[k] ** 2) for k in g if k.endswith("_l1"))))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("L", [2, 3])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "indrnn"])
def test_save_and_load_round_trip_of_a_stack(cell, L, bidirectional, tmp_path):
    model = ex.build_model(cell, 2, 4, 3, seed=3, num_layers=L, bidirectional=bidirectional, activation="tanh")
    path = tmp_path / "m.npz"
    from explorer.persistence import save_model
    save_model(model, path, extra={"note": "deep"})
    back, extra = load_model(path)
    assert extra == {"note": "deep"} and (back.num_layers, back.bidirectional) == (L, bidirectional)
    assert list(back.params) == list(model.params)
    for k, v in model.params.items():
        np.testing.assert_array_equal(back.params[k], v)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((6, 2, 2)), rng.integers(0, 3, (6, 2))
    np.testing.assert_array_equal(ex.bptt(back, X, y).grads["W_xh"], ex.bptt(model, X, y).grads["W_xh"])
    # a file whose arrays do not fit its layer count is refused by name
    arrays = dict(np.load(io.BytesIO(model_bytes(model))))
    del arrays[layer_key("W_xh", L - 1)]
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with pytest.raises(ValueError, match=f"missing \\['{layer_key('W_xh', L - 1)}'\\]"):
        load_model(buf.getvalue())
    if cell != "indrnn":                            # torch names, through .npz and .safetensors bytes
        sd = ex.to_torch_state_dict(model)
        assert f"weight_hh_l{L - 1}" in sd and ("weight_ih_l0_reverse" in sd) == bidirectional
        for data, name in ((_npz(sd), "w.npz"), (ex.write_safetensors(sd), "w.safetensors")):
            m2 = ex.load_torch_model(data, name, cell)
            assert (m2.num_layers, m2.bidirectional) == (L, bidirectional)
            for k, v in model.params.items():
                np.testing.assert_array_equal(m2.params[k], v)


def _npz(arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_the_safetensors_writer_is_what_the_safetensors_package_reads():
    """Checked against the real package (a test dependency: requirements-dev.txt; it fails rather than skips in CI)."""
    st = needs("safetensors.numpy")
    sd = ex.to_torch_state_dict(ex.build_model("gru", 2, 3, 2, num_layers=2, bidirectional=True))
    sd["f32"] = np.arange(6, dtype=np.float32).reshape(2, 3)
    got = st.load(ex.write_safetensors(sd))
    assert set(got) == set(sd)
    for k, v in sd.items():
        np.testing.assert_array_equal(got[k], v)
        assert got[k].dtype == v.dtype
    assert ex.read_safetensors(st.save(sd)).keys() == sd.keys()


def test_overflow_in_a_lower_layer_stops_the_stack_there():
    """A ReLU stack at ρ = 40 overflows; the records end at the first non-finite step in any layer, and the
    gradient is that of the loss of the steps before it (= the same model run on those steps alone)."""
    model = ex.build_model("rnn", 1, 4, 2, activation="relu", num_layers=2, scale=40.0, seed=0)
    T = 200
    X = np.ones((T, 1, 1))
    y = np.zeros((T, 1), dtype=int)
    rec = ex.bptt(model, X, y)
    n = rec.trace.overflow_step
    assert n is not None and 0 < n < T
    assert np.all(np.isnan(rec.delta_by_layer[:, n:])) and not np.any(np.isnan(rec.delta_by_layer[:, :n]))
    short = ex.bptt(model, X[:n], y[:n])
    assert short.trace.overflow_step is None and rec.backward_overflow_step == short.backward_overflow_step
    np.testing.assert_array_equal(rec.delta_by_layer[:, :n], short.delta_by_layer)
    for k, v in short.grads.items():
        np.testing.assert_array_equal(rec.grads[k], v)
