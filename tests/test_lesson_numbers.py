"""The lessons' chart numbers as engine calls (explorer.gradient_bias, explorer.jacobians.phase_map,
explorer.work_budget's sizing): each equals the direct computation it vectorises, one gradient or one model at a
time. ui/compute.py only caches these calls."""
import functools

import numpy as np
import pytest

import explorer as ex
from explorer import work_budget as wb
from explorer.gradient_bias import compare, compare_rows, flat_gradient


def problem(cell="rnn", T=30, B=1, seed=0, scale=1.1, loss="cross_entropy"):
    act = "relu" if cell == "indrnn" else "tanh"
    model = ex.build_model(cell, 3, 8, 4, activation=act, seed=seed, scale=scale)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((T, B, 3))
    y = rng.integers(0, 4, (T, B)) if loss == "cross_entropy" else rng.standard_normal((T, B, 4))
    return ex.forward(model, X, y, loss=loss)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "indrnn"])
@pytest.mark.parametrize("k1", [1, 4, 9])
def test_bias_sweep_rows_equal_gradient_bias_of_each_tbptt_gradient(cell, k1):
    trace = problem(cell, T=30, B=2, seed=k1)
    full = ex.backward(trace).grads
    k2s, cos, rel = ex.tbptt_bias_sweep(trace, k1)
    assert k2s[0] == k1 and k2s[-1] == 30 and np.all(np.diff(k2s) > 0) and k2s.size == min(24, 30 - k1 + 1)
    want = [ex.gradient_bias(ex.backward(trace, ex.TBPTT(k1, int(k2))).grads, full)["all"] for k2 in k2s]
    np.testing.assert_allclose(cos, [b.cosine for b in want], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rel, [b.relative_error for b in want], rtol=1e-12, atol=1e-12)
    assert rel[-1] < 1e-12 and cos[-1] == pytest.approx(1.0, abs=1e-12)     # k2 = T is full BPTT


def test_bias_sweep_takes_explicit_k2s_and_the_exact_gradient():
    trace = problem("gru", T=20, loss="squared_error")
    full = ex.backward(trace).grads
    k2s, cos, rel = ex.tbptt_bias_sweep(trace, 3, np.array([3, 5, 20]), exact=full)
    np.testing.assert_array_equal(k2s, [3, 5, 20])
    again = ex.tbptt_bias_sweep(trace, 3, [3, 5, 20])                        # exact computed: the same numbers
    np.testing.assert_array_equal(cos, again[1])
    np.testing.assert_array_equal(rel, again[2])
    k2s, _, _ = ex.tbptt_bias_sweep(trace, 50)                               # k1 > T is clamped to T
    np.testing.assert_array_equal(k2s, [20])


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_randomized_error_curve_equals_relative_error_of_each_draw_and_of_the_mean(cell):
    trace = problem(cell, T=25, B=2, seed=5)
    full = ex.backward(trace).grads
    g = flat_gradient(full)
    n, p, seed = 15, 0.6, 70
    one, mean = ex.randomized_error_curve(trace, p, n, seed=seed)
    draws = [flat_gradient(ex.backward(trace, ex.Randomized(p, seed + i)).grads, list(full)) for i in range(n)]
    np.testing.assert_allclose(one, [ex.relative_error(d, g) for d in draws], rtol=1e-12)
    assert mean[-1] == pytest.approx(ex.relative_error(np.mean(draws, axis=0), g), rel=1e-12)
    assert mean[0] == pytest.approx(one[0], rel=1e-12)                       # the mean of one draw is that draw
    np.testing.assert_array_equal(ex.randomized_error_curve(trace, p, n, seed=seed, exact=full)[1], mean)


def test_row_helpers_keep_compare_and_relative_error_conventions():
    rng = np.random.default_rng(0)
    g = rng.standard_normal(7)
    V = np.stack([rng.standard_normal(7), np.zeros(7), g, -2 * g, np.full(7, 1e300)])
    cos, rel = compare_rows(V, g)
    for i, v in enumerate(V):
        b = compare(v, g)
        np.testing.assert_allclose([cos[i], rel[i]], [b.cosine, b.relative_error], rtol=1e-14, equal_nan=True)
        assert ex.relative_errors(V, g)[i] == pytest.approx(ex.relative_error(v, g), rel=1e-14)
    zero = np.zeros(7)                                                       # g = 0: 0 for ĝ = 0, inf otherwise
    cos, rel = compare_rows(np.stack([zero, g]), zero)
    assert np.isnan(cos).all() and rel.tolist() == [0.0, np.inf]
    assert ex.relative_errors(np.stack([zero, g]), zero).tolist() == [0.0, 1.0]
    np.testing.assert_array_equal(flat_gradient({"a": np.ones((2, 2)), "b": np.arange(3.0)}, ["b", "a"]),
                                  [0, 1, 2, 1, 1, 1, 1])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "indrnn"])
def test_phase_map_rows_equal_jacobian_products_at_each_scale(cell):
    T = 40
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((T, 1, 3)), rng.standard_normal((T, 1, 2))
    act = "relu" if cell == "indrnn" else "tanh"
    build = functools.partial(ex.build_model, cell, 3, 6, 2, activation=act, seed=3)
    scales, lags = np.array([0.3, 1.0, 2.5]), ex.even_lags(T, 9)
    s_out, l_out, z = ex.phase_map(build, X, y, scales=scales, lags=lags, loss="squared_error")
    assert s_out is scales and np.array_equal(l_out, lags) and z.shape == (3, lags.size)
    for i, s in enumerate(scales):
        tr = ex.forward(build(scale=s), X, y, loss="squared_error")
        np.testing.assert_array_equal(z[i], ex.jacobian_products(tr, spectrum=False, lags=lags).log10_norm)


def test_phase_map_leaves_lags_past_an_overflow_empty():
    T = 200
    X, y = np.random.default_rng(0).standard_normal((T, 1, 3)), np.zeros((T, 1, 2))
    build = functools.partial(ex.build_model, "rnn", 3, 8, 2, activation="linear", seed=0)
    lags = ex.even_lags(T, 9)                                                # 0, 25, …, 200
    _, _, z = ex.phase_map(build, X, y, scales=[1.0, 100.0], lags=lags, loss="squared_error")
    assert np.all(np.isfinite(z[0]))
    n = ex.forward(build(scale=100.0), X, y, loss="squared_error").valid_T  # the state overflows at ρ = 100
    assert n < T
    reached = lags <= n
    assert np.all(np.isfinite(z[1][reached])) and np.all(np.isnan(z[1][np.searchsorted(lags, n) + 1:]))


def test_even_lags():
    np.testing.assert_array_equal(ex.even_lags(5, 100), np.arange(6))       # all of them when n ≥ L + 1
    np.testing.assert_array_equal(ex.even_lags(100, 5), [0, 25, 50, 75, 100])
    lags = ex.even_lags(999, 24)
    assert lags[0] == 0 and lags[-1] == 999 and lags.size == 24 and np.all(np.diff(lags) > 0)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "indrnn"])
@pytest.mark.parametrize("H,T", [(8, 50), (64, 200), (256, 200), (512, 200)])
def test_phase_size_fits_its_work(cell, H, T):
    work, scales, lags = 1.2e10, (10, 28), (8, 60)
    n_scales, steps, n_lags = wb.phase_size(cell, H, T, work, scales, lags)
    assert scales[0] <= n_scales <= scales[1] and steps <= T and n_lags <= min(lags[1], steps + 1)
    if steps >= 1:                  # else (H = 512: not even one step fits) the caller skips the map
        assert n_lags >= 1
        assert n_scales * (steps * wb.step_jacobian_cost(cell, H) + n_lags * wb.svd_cost(H)) <= work


def test_lag_profile_steps_and_draw_count_fit_their_work():
    cells = ("rnn", "lstm", "gru")
    per_step = sum(wb.step_jacobian_cost(c, 128) for c in cells)
    steps = wb.lag_profile_steps(cells, 128, 1000, 1e10, 24)
    assert 1 <= steps < 1000 and steps * per_step + 24 * 3 * wb.svd_cost(128) <= 1e10
    assert wb.lag_profile_steps(cells, 8, 100, 1e10, 24) == 100             # small: all of T
    assert wb.draw_count("rnn", 8, 10, 1e8, 20, 100) == 100
    assert wb.draw_count("lstm", 256, 1000, 1e8, 20, 100) == 20
    assert wb.draw_count("gru", 32, 600, 1e8, 20, 100) == int(1e8 / (600 * 32 * 32 * 3)) == 54


def test_the_chart_index_names_every_chart():
    """ui/compute.py's docstring indexes every chart of pages 1–7 (chart key → ui call → engine call → builder)."""
    import ast
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    index = ast.get_docstring(ast.parse((root / "ui" / "compute.py").read_text()))
    listed = set(re.findall(r"^    (\w+)  ", index, flags=re.M))
    keys = set()
    for page in sorted((root / "pages").glob("[1-7]_*.py")):
        for key in re.findall(r"\bchart\(.*?\bkey=f?\"([^\"]+)\"", page.read_text(), flags=re.S):
            keys |= {key.replace("{name}", n) for n in ("LSTM", "GRU")} if "{name}" in key else {key}
    assert len(keys) >= 25 and keys <= listed, sorted(keys - listed)
