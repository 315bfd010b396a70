import numpy as np
import pytest

import explorer as ex


def grads(scale=1.0):
    rng = np.random.default_rng(0)
    return {"a": rng.standard_normal((4, 3)) * scale, "b": rng.standard_normal(5) * scale}


def test_clip_by_global_norm_keeps_direction():
    g = grads(10.0)
    n = ex.global_norm(g)
    assert n == pytest.approx(np.sqrt(sum(np.sum(v ** 2) for v in g.values())))
    r = ex.clip_by_global_norm(g, 1.0)
    assert r.clipped and r.finite and r.norm_before == pytest.approx(n) and r.norm_after == pytest.approx(1.0)
    assert ex.gradient_bias(r.grads, g)["all"].cosine == pytest.approx(1.0, abs=1e-12)
    small = ex.clip_by_global_norm(g, 10 * n)
    assert not small.clipped and all(np.array_equal(small.grads[k], g[k]) for k in g)


def test_clip_by_value_bounds_entries():
    g = grads(10.0)
    r = ex.clip_by_value(g, 5.0)
    assert r.clipped and all(np.max(np.abs(v)) <= 5.0 for v in r.grads.values())
    inside = {k: v for k, v in g.items()}
    for k in g:
        keep = np.abs(g[k]) <= 5.0
        np.testing.assert_array_equal(r.grads[k][keep], g[k][keep])
        np.testing.assert_array_equal(np.abs(r.grads[k][~keep]), 5.0)
    assert r.norm_after < r.norm_before
    assert not ex.clip_by_value(grads(0.1), 5.0).clipped and inside


def test_clipping_huge_and_non_finite_gradients():
    huge = {"a": np.full(4, 1e200)}
    assert ex.global_norm(huge) == pytest.approx(2e200)
    assert ex.clip_by_global_norm(huge, 1.0).norm_after == pytest.approx(1.0)
    bad = {"a": np.array([1.0, np.inf])}
    r = ex.clip_by_global_norm(bad, 1.0)
    assert not r.finite and not r.clipped
    with pytest.raises(ValueError, match="max_norm"):
        ex.clip_by_global_norm(grads(), 0.0)
    with pytest.raises(ValueError, match="limit"):
        ex.clip_by_value(grads(), -1)
