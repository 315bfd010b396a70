import numpy as np
import pytest

import explorer as ex
from explorer.gradcheck import relative_error


def problem(cell="rnn", T=30, B=2, seed=0):
    rng = np.random.default_rng(seed)
    model = ex.build_model(cell, 3, 8, 4, seed=seed, scale=1.1)
    return model, rng.standard_normal((T, B, 3)), rng.integers(0, 4, (T, B))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "indrnn"])
@pytest.mark.parametrize("k1", [1, 4, 7, 30])
def test_tbptt_with_k2_at_least_T_equals_full(cell, k1):
    model, X, y = problem(cell)
    trace = ex.forward(model, X, y)
    full = ex.backward(trace).grads
    for k2 in (30, 31, 500):
        if k2 < k1:
            continue
        g = ex.backward(trace, ex.TBPTT(k1, k2)).grads
        for k in full:
            assert relative_error(g[k], full[k]) <= 1e-12, (k, k1, k2)


@pytest.mark.parametrize("K", [1, 3, 5, 8])
def test_chunk_property_of_detach_every_K(K):
    """Under TBPTT(K, K) the loss at (1-based) chunk offset i receives exactly i contributions (t, k)."""
    T = 6 * K
    M = ex.TBPTT(K, K).mask(T)
    assert set(np.unique(M)) <= {0.0, 1.0}
    for t in range(T):
        assert M[t].sum() == t % K + 1
        assert np.all(M[t, : t - t % K] == 0)          # nothing from an earlier chunk
    # with a trailing partial chunk, the final update at T still backpropagates exactly K steps from T
    Mp = ex.TBPTT(K, K).mask(T + 1)
    assert Mp[T].sum() == min(K, T + 1) and Mp[:T - T % K].sum() == M[:T - T % K].sum()
    # and the gradient really has only those terms: the G map entries it keeps reconstruct its size
    model, X, y = problem("rnn", T=T)
    trace = ex.forward(model, X, y)
    g = ex.backward(trace, ex.TBPTT(K, K)).grads
    ref = ex.masked_gradient(trace, M)
    for k in g:
        assert relative_error(g[k], ref[k]) < 1e-13


def test_williams_peng_windows():
    """BPTT(h=k2; h'=k1): each loss gets between k2-k1+1 and k2 steps of history (fewer only near t=0)."""
    T, k1, k2 = 40, 4, 10
    M = ex.TBPTT(k1, k2).mask(T)
    counts = M.sum(axis=1)
    assert counts[k2:].min() == k2 - k1 + 1 and counts.max() == k2
    M1 = ex.TBPTT(1, 6).mask(T)          # TBPTT(1, k2): keep t − k < k2
    t, k = np.indices((T, T))
    np.testing.assert_array_equal(M1, ((t >= k) & (t - k < 6)).astype(float))


def test_randomized_truncation_is_unbiased():
    model, X, y = problem("rnn", T=12, B=1, seed=3)
    trace = ex.forward(model, X, y)
    full = ex.backward(trace).grads
    draws = [ex.backward(trace, ex.Randomized(0.6, seed=s)).grads for s in range(3000)]
    one = draws[0]
    assert relative_error(one["W_hh"], full["W_hh"]) > 0.05          # a single draw is noisy …
    mean = {k: np.mean([d[k] for d in draws], axis=0) for k in full}
    for k in full:
        assert relative_error(mean[k], full[k]) < 0.03, k          # … but the mean converges
    # and the masks average to the all-ones lower triangle, within 5 standard errors: Var M[t,k] = π^−(t−k) − 1
    N, pi = 3000, 0.6
    Ms = np.mean([ex.Randomized(pi, seed=s).mask(12) for s in range(N)], axis=0)
    t, k = np.tril_indices(12)
    se = np.sqrt((pi ** -(t - k) - 1.0) / N)
    assert np.all(np.abs(Ms[t, k] - 1.0) <= 5 * se + 1e-12)
    assert np.all(np.triu(Ms, 1) == 0)


def test_randomized_errors_shrink_with_more_draws():
    model, X, y = problem("lstm", T=10, B=1, seed=4)
    trace = ex.forward(model, X, y)
    full = ex.backward(trace).grads["W_hh"]
    # π = 0.7 keeps the variance of Π ξ moderate over 10 steps; the error of the mean should fall like 1/√N
    draws = np.array([ex.backward(trace, ex.Randomized(0.7, seed=s)).grads["W_hh"] for s in range(2000)])
    err = [relative_error(draws[:n].mean(0), full) for n in (20, 200, 2000)]
    assert err[2] < err[1] < err[0] and err[2] < err[0] / 5


def test_gradient_bias_reports_cosine_and_relative_error():
    model, X, y = problem("rnn", T=40)
    trace = ex.forward(model, X, y)
    full = ex.backward(trace).grads
    b_same = ex.gradient_bias(full, full)
    assert b_same["all"].cosine == pytest.approx(1.0) and b_same["all"].relative_error == 0.0
    errs = [ex.gradient_bias(ex.backward(trace, ex.TBPTT(k2, k2)).grads, full)["W_hh"].relative_error
            for k2 in (2, 10, 40)]
    assert errs[0] > errs[1] > errs[2] == pytest.approx(0.0, abs=1e-12)
    assert ex.gradient_bias({k: -v for k, v in full.items()}, full)["all"].cosine == pytest.approx(-1.0)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "indrnn"])
def test_batched_randomized_draws_equal_separate_backward_passes(cell):
    model, X, y = problem(cell, T=25, B=2, seed=6)
    trace = ex.forward(model, X, y)
    draws = ex.randomized_draws(trace, 0.6, 12, seed=40)
    for i, g in enumerate(draws):
        ref = ex.backward(trace, ex.Randomized(0.6, seed=40 + i)).grads
        for k in ref:
            assert relative_error(g[k], ref[k]) < 1e-13, (i, k)
