"""The online learning rules (explorer.online), float64: RTRL is the exact gradient (BPTT, explorer.rtrl, finite
differences with a leak); UORO and KF-RTRL are unbiased (their mean over N independent sign draws converges to
RTRL's gradient with an error ∝ 1/√N) while RFLO's error does not fall; SnAp-1 and RFLO are exact exactly where
their approximation of J_t is the truth; TBPTT(k) is the engine's TBPTT(1, k); the op-count model's exponents."""
import numpy as np
import pytest

import explorer as ex
from explorer import online as ol
from explorer.cost import fit_slope


def problem(n=6, D=3, O=2, T=12, B=2, seed=0, loss="squared_error", scale=0.9):
    model = ex.build_model("rnn", D, n, O, scale=scale, seed=seed)
    rng = np.random.default_rng(seed + 1)
    X = rng.standard_normal((T, B, D))
    y = rng.integers(0, O, (T, B)) if loss == "cross_entropy" else rng.standard_normal((T, B, O))
    return model, X, y


def max_rel(a: dict, b: dict) -> float:
    return max(ex.relative_error(a[k], b[k]) for k in b)


@pytest.mark.parametrize("loss", ["squared_error", "cross_entropy"])
def test_rtrl_equals_bptt_and_the_engine_rtrl(loss):
    model, X, y = problem(loss=loss, T=15, B=3)
    mask = np.ones((15, 3))
    mask[:4] = 0.0                                          # steps without a loss
    run = ol.online_gradients(model, X, y, "rtrl", loss=loss, mask=mask)
    g = ex.bptt(model, X, y, loss=loss, mask=mask).grads
    assert list(run.grads()) == list(g)                     # the model's parameter order
    assert max_rel(run.grads(), g) <= 1e-9
    assert max_rel(run.grads(), ex.rtrl(model, X, y, loss=loss, mask=mask).grads) <= 1e-12
    assert run.loss == pytest.approx(ex.forward(model, X, y, loss=loss, mask=mask).loss, rel=1e-12)
    assert np.all(np.isnan(run.cosines()[:4])) and np.allclose(run.cosines()[4:], 1.0)


def test_exact_per_step_gradient_is_the_gradient_of_that_steps_loss():
    model, X, y = problem(T=10, B=2)
    run = ol.online_gradients(model, X, y, "uoro", loss="squared_error")
    for t in (0, 4, 9):
        only_t = np.zeros((10, 2))
        only_t[t] = 1.0
        g = ex.bptt(model, X, y, loss="squared_error", mask=only_t).grads
        per_step = run.split(run.exact[t])
        assert max(ex.relative_error(per_step[k], g[k]) for k in ol.RECURRENT) <= 1e-12


@pytest.mark.parametrize("leak", [0.3, 0.75])
def test_leaky_rtrl_equals_finite_differences(leak):
    model, X, y = problem(n=4, D=2, T=9, B=2, seed=3)
    g = ol.online_gradients(model, X, y, "rtrl", leak=leak, loss="squared_error").grads()
    eps = 1e-6
    for name, w in model.params.items():
        fd = np.zeros_like(w)
        flat, out = w.reshape(-1), fd.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            lp = ol.leaky_loss(model, X, y, leak=leak, loss="squared_error")
            flat[i] = old - eps
            lm = ol.leaky_loss(model, X, y, leak=leak, loss="squared_error")
            flat[i] = old
            out[i] = (lp - lm) / (2 * eps)
        assert ex.relative_error(g[name], fd) <= 1e-7, name
    # and the leak matters: α < 1 is another network than the engine's
    assert max_rel(g, ex.bptt(model, X, y, loss="squared_error").grads) > 1e-3


def test_leak_one_is_the_engines_rnn():
    model, X, y = problem()
    assert ol.leaky_loss(model, X, y, leak=1.0, loss="squared_error") == pytest.approx(
        ex.forward(model, X, y, loss="squared_error").loss, rel=1e-13)


def _mean_error(model, X1, y1, rule, N, reps, leak=1.0):
    """RMS over `reps` independent draws of ‖mean of N estimates − RTRL‖ / ‖RTRL‖ for ∂L/∂[W_hh | W_xh | b_h].
    N independent estimates in one call: the sequence repeated N times as a batch (each row draws its own signs);
    the batch's gradient, with its 1/B, is then their mean."""
    g = ol.online_gradients(model, X1, y1, "rtrl", leak=leak, loss="squared_error").estimates.sum(axis=0)
    X, y = np.repeat(X1, N, axis=1), np.repeat(y1, N, axis=1)
    errs = [np.linalg.norm(ol.online_gradients(model, X, y, rule, seed=1000 * r + N, leak=leak, loss="squared_error",
                                               exact=False).estimates.sum(axis=0) - g) / np.linalg.norm(g)
            for r in range(reps)]
    return float(np.sqrt(np.mean(np.square(errs))))


NS = (256, 1024, 4096)


@pytest.mark.parametrize("rule", ["uoro", "kf_rtrl"])
@pytest.mark.parametrize("seed,leak", [(0, 1.0), (2, 0.5)])
def test_uoro_and_kf_rtrl_are_unbiased_error_falls_like_one_over_sqrt_n(rule, seed, leak):
    model, X1, y1 = problem(n=5, D=2, T=8, B=1, seed=seed)
    errs = [_mean_error(model, X1, y1, rule, N, reps=10, leak=leak) for N in NS]
    slope, _ = fit_slope(NS, errs)
    assert -0.62 <= slope <= -0.38, (errs, slope)          # 1/√N: the mean converges to RTRL's gradient
    for a, b in zip(errs, errs[1:]):
        assert 0.3 <= b / a <= 0.7, errs                   # 4× the draws, about half the error
    assert errs[-1] < 0.15


def test_a_biased_rule_does_not_converge():
    model, X1, y1 = problem(n=5, D=2, T=8, B=1, seed=0)
    errs = [_mean_error(model, X1, y1, "rflo", N, reps=2) for N in (16, 256)]
    assert errs[0] == pytest.approx(errs[1], rel=1e-9) and errs[0] > 0.05   # deterministic: a fixed bias


def test_stochastic_rules_draw_independent_signs_per_seed():
    model, X, y = problem()
    a = ol.online_gradients(model, X, y, "uoro", seed=1, loss="squared_error", exact=False).estimates
    b = ol.online_gradients(model, X, y, "uoro", seed=2, loss="squared_error", exact=False).estimates
    c = ol.online_gradients(model, X, y, "uoro", seed=1, loss="squared_error", exact=False).estimates
    assert not np.allclose(a, b) and np.array_equal(a, c)


@pytest.mark.parametrize("leak", [1.0, 0.4])
def test_snap1_equals_rtrl_when_w_hh_is_diagonal(leak):
    model, X, y = problem(T=14)
    model.params["W_hh"] = np.diag(np.random.default_rng(5).uniform(-0.9, 0.9, 6))
    runs = ol.online_compare(model, X, y, ("snap1", "rflo"), leak=leak, loss="squared_error")
    np.testing.assert_allclose(runs["snap1"].estimates, runs["snap1"].exact, rtol=1e-12, atol=1e-14)
    assert np.abs(runs["rflo"].estimates - runs["rflo"].exact).max() > 1e-3     # RFLO drops the diagonal's d·w


@pytest.mark.parametrize("leak", [1.0, 0.4])
def test_rflo_equals_rtrl_when_w_hh_is_zero(leak):
    """With W_hh = 0, J_t = (1 − α) I: RFLO's approximation is the truth (for any leak; the issue asks for α = 1)."""
    model, X, y = problem(T=14)
    model.params["W_hh"] = np.zeros((6, 6))
    run = ol.online_gradients(model, X, y, "rflo", leak=leak, loss="squared_error")
    np.testing.assert_allclose(run.estimates, run.exact, rtol=1e-12, atol=1e-14)


def test_rflo_and_snap1_differ_from_rtrl_on_a_dense_w_hh():
    model, X, y = problem(T=14)
    runs = ol.online_compare(model, X, y, ("rflo", "snap1"), loss="squared_error")
    for r in runs.values():
        assert np.abs(r.estimates - r.exact).max() > 1e-3


@pytest.mark.parametrize("k", [1, 3, 7])
def test_tbptt_is_the_engines_tbptt_one_k(k):
    model, X, y = problem(T=15)
    run = ol.online_gradients(model, X, y, "tbptt", k=k, loss="squared_error")
    assert max_rel(run.grads(), ex.bptt(model, X, y, loss="squared_error", scheme=ex.TBPTT(1, k)).grads) <= 1e-12
    full = ol.online_gradients(model, X, y, "tbptt", k=15, loss="squared_error")
    np.testing.assert_allclose(full.estimates, full.exact, rtol=1e-11, atol=1e-14)     # k ≥ T: exact


def test_readout_gradient_is_the_same_exact_one_in_every_rule():
    model, X, y = problem(loss="cross_entropy")
    runs = ol.online_compare(model, X, y, loss="cross_entropy")
    g = ex.bptt(model, X, y).grads
    for r in runs.values():
        for k in ("W_hy", "b_y"):
            assert ex.relative_error(r.grads()[k], g[k]) <= 1e-12


def test_compare_shares_one_exact_gradient_and_matches_single_runs():
    model, X, y = problem()
    runs = ol.online_compare(model, X, y, loss="squared_error", seed=4)
    for rule in ol.RULES:
        one = ol.online_gradients(model, X, y, rule, loss="squared_error", seed=4)
        np.testing.assert_array_equal(one.estimates, runs[rule].estimates)
        np.testing.assert_allclose(one.exact, runs["rtrl"].estimates, rtol=1e-13, atol=1e-15)


def test_op_counts_have_the_rules_exponents():
    ns = np.array([64, 128, 256, 512])
    want = {"rtrl": 4, "kf_rtrl": 3, "uoro": 2, "rflo": 2, "snap1": 2, "tbptt": 2}
    for rule, p in want.items():
        s, _ = fit_slope(ns, [ol.step_ops(rule, int(n), 1) for n in ns])
        assert s == pytest.approx(p, abs=0.1), rule
    run = ol.online_gradients(*problem(), "kf_rtrl", loss="squared_error")
    assert run.ops_per_step == ol.step_ops("kf_rtrl", 6, 3) and run.state_floats == 10 + 36


def test_bad_arguments_are_named():
    model, X, y = problem()
    with pytest.raises(ValueError, match="rule"):
        ol.online_gradients(model, X, y, "bptt", loss="squared_error")
    with pytest.raises(ValueError, match="leak"):
        ol.online_gradients(model, X, y, "rtrl", leak=0.0, loss="squared_error")
    with pytest.raises(ValueError, match="vanilla RNN"):
        ol.online_gradients(ex.build_model("lstm", 3, 4, 2), X, y, "rtrl", loss="squared_error")
    with pytest.raises(ValueError, match="exact=False"):
        ol.online_gradients(model, X, y, "uoro", loss="squared_error", exact=False).cosines()


def test_trainer_learns_a_short_adding_problem_with_rtrl():
    task = ex.tasks.AddingTask(T=6)
    tr = ol.OnlineTrainer(task, "rtrl", ol.OnlineConfig(hidden_size=8, batch_size=16, lr=0.02, seed=1))
    losses = [tr.step() for _ in range(150)]
    assert np.mean(losses[-20:]) < 0.5 * task.baseline and tr.updates == 150


def test_time_per_step_is_positive():
    assert all(ol.time_per_step(r, 8, steps=3, repeats=1) > 0 for r in ol.RULES)
