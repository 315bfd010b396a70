import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import explorer as ex


@pytest.mark.parametrize("rho", [0.7, 1.0, 1.4])
@pytest.mark.parametrize("T", [50, 1000])
def test_linear_orthogonal_rnn_has_every_singular_value_rho_to_the_lag(rho, T):
    model = ex.build_model("rnn", 2, 12, 2, activation="linear", init="orthogonal", scale=rho, seed=1)
    X = np.random.default_rng(0).standard_normal((T, 1, 2)) * 0.1
    trace = ex.forward(model, X, np.zeros((T, 1), int))
    jp = ex.jacobian_products(trace)
    expected = jp.lags[:, None] * np.log(rho)
    # relative error of every singular value: |σ / ρ^lag − 1| ≤ 1e-10, with nothing under- or overflowing
    assert np.all(np.abs(np.expm1(jp.log_sv - expected)) <= 1e-10)
    assert np.all(np.isfinite(jp.log_sv))


def test_products_survive_T_1000_without_underflow():
    model = ex.build_model("rnn", 2, 16, 2, init="orthogonal", scale=0.5, seed=2)
    X = np.random.default_rng(0).standard_normal((1000, 1, 2))
    jp = ex.jacobian_products(ex.forward(model, X, np.zeros((1000, 1), int)))
    assert np.all(np.isfinite(jp.log_norm))
    assert jp.log10_norm[-1] < -250          # far below float64's range, still a number
    assert np.all(np.diff(jp.log_norm) < 0)  # contractive at every step


@settings(max_examples=40, deadline=None)
@given(H=st.integers(1, 10), T=st.integers(1, 60), scale=st.floats(0.05, 4.0),
       seed=st.integers(0, 10_000), act=st.sampled_from(["tanh", "sigmoid"]), x_scale=st.floats(0.0, 3.0))
def test_pascanu_bound_holds(H, T, scale, seed, act, x_scale):
    """‖∂h_t/∂h_(t−ℓ)‖₂ ≤ (σ₁ γ)^ℓ for tanh (γ=1) and sigmoid (γ=1/4), for any weights and inputs."""
    model = ex.build_model("rnn", 3, H, 2, activation=act, init="gaussian", scale=scale, scale_kind="sigma1",
                           seed=seed)
    X = np.random.default_rng(seed).standard_normal((T, 1, 3)) * x_scale
    jp = ex.jacobian_products(ex.forward(model, X, np.zeros((T, 1), int)), spectrum=False)
    sp = ex.weight_spectrum(model)
    bound = ex.log_pascanu_bound(sp.sigma1, sp.gamma, jp.lags)
    assert np.all(jp.log_norm <= bound + 1e-9 * (1 + jp.lags))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "indrnn"])
def test_step_jacobians_match_finite_differences_of_one_step(cell):
    model = ex.build_model(cell, 2, 4, 2, seed=3)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((3, 1, 2))
    trace = ex.forward(model, X, np.zeros((3, 1), int))
    J = ex.step_jacobians(trace)
    S = model.cell.state_size
    for t in range(3):
        s = trace.states[t]
        num = np.zeros((S, S))
        for j in range(S):
            sp, sm = s.copy(), s.copy()
            sp[0, j] += 1e-6
            sm[0, j] -= 1e-6
            fp = model.cell.forward(model.params, X[t:t + 1], sp).states[1, 0]
            fm = model.cell.forward(model.params, X[t:t + 1], sm).states[1, 0]
            num[:, j] = (fp - fm) / 2e-6
        np.testing.assert_allclose(J[t], num, rtol=1e-6, atol=1e-9)


def test_lstm_cell_path_blocks():
    """The c block of ∂s_T/∂s_k: with forget gates near 1 the cell path stays near 1 for long lags."""
    model = ex.build_model("lstm", 2, 8, 2, forget_bias=6.0, init="orthogonal", scale=0.5, seed=0)
    X = np.random.default_rng(0).standard_normal((200, 1, 2)) * 0.1
    trace = ex.forward(model, X, np.zeros((200, 1), int))
    c = ex.jacobian_products(trace, block="c", spectrum=False)
    h = ex.jacobian_products(trace, block="h", spectrum=False)
    assert c.log10_norm[-1] > -2        # f ≈ σ(6) ≈ 0.9975 → 0.9975^200 ≈ 0.6
    assert h.log10_norm[-1] < c.log10_norm[-1]
    with pytest.raises(ValueError, match="block 'c'"):
        ex.jacobian_products(ex.forward(ex.build_model("rnn", 2, 4, 2), X[:5], np.zeros((5, 1), int)), block="c")


def test_weight_spectrum_and_rescaling():
    for kind, attr in (("rho", "rho"), ("sigma1", "sigma1")):
        model = ex.build_model("rnn", 1, 20, 1, init="gaussian", scale=1.3, scale_kind=kind, seed=0)
        assert getattr(ex.weight_spectrum(model), attr) == pytest.approx(1.3, rel=1e-10)
    irnn = ex.build_model("rnn", 1, 5, 1, activation="relu", init="identity")
    np.testing.assert_array_equal(irnn.params["W_hh"], np.eye(5))
    ind = ex.build_model("indrnn", 1, 6, 1, scale=0.95, seed=1)
    assert np.max(np.abs(ind.params["u"])) == pytest.approx(0.95)
    u = ex.constrain_recurrent(np.array([-3.0, 0.5, 1.2]), gamma=2.0, T=10)
    np.testing.assert_allclose(u, [-2 ** 0.1, 0.5, 2 ** 0.1])
    assert ex.log_linear_rate(0.5, [0, 2])[1] == pytest.approx(2 * np.log(0.5))
