"""The gradient checks can fail (autograd's style of self-test): perturb one term of a cell's one-step backward by
one part in 10⁴ and the very checks tests/test_gradients.py runs — central differences on θ
(`ex.numerical_gradient`) and the per-(t, k) oracle (tests/oracles.py) — must reject the gradient, while the
unperturbed backward passes them. Done for the vanilla RNN and the LSTM."""
import pytest
from oracles import make_problem, masked_fd, stepwise_fd
from test_gradients import TOL, assert_close

import explorer as ex
from explorer.cells.lstm import LSTM
from explorer.cells.vanilla import VanillaRNN

PERTURBATION = 1e-4
CELLS = {"rnn": VanillaRNN, "lstm": LSTM}
# which output of step_backward(p, cache, t, ds) -> (dA_ih, dA_hh, ds_prev) is perturbed, and how:
#   dA_ih    × (1 + 1e-4): the pre-activation adjoint (reaches ∂L/∂W_xh, ∂L/∂W_hh, ∂L/∂b_h). These cells have
#            no `distinct_adjoints`, so the BPTT loop uses dA_ih for both parts and never reads their dA_hh:
#            perturbing dA_hh would change nothing (only the GRU's differ, in its candidate block r ⊙ …).
#   ds_prev  × (1 + 1e-4): J_tᵀ δ, the gradient carried one step back (reaches them through earlier steps)
#   offset   + 1e-4 on the first entry of ds_prev: an additive error rather than a relative one
TERMS = ["dA_ih", "ds_prev", "offset"]


def perturbed(step_backward, term):
    """A step_backward with one term of its result off by 1e-4."""
    def wrong(self, p, cache, t, ds):
        a_ih, a_hh, ds_prev = step_backward(self, p, cache, t, ds)
        if term == "dA_ih":
            a_ih = a_ih * (1 + PERTURBATION)
        elif term == "ds_prev":
            ds_prev = ds_prev * (1 + PERTURBATION)
        else:
            ds_prev = ds_prev.copy()
            ds_prev[..., 0] += PERTURBATION
        return a_ih, a_hh, ds_prev
    return wrong


def full_check(cell):
    """test_full_bptt_matches_central_differences, for one cell."""
    model, X, targets, mask = make_problem(cell, "tanh", "cross_entropy", masked=True, T=6)
    rec = ex.bptt(model, X, targets, loss="cross_entropy", mask=mask)
    assert_close(rec.grads, ex.numerical_gradient(model, X, targets, loss="cross_entropy", mask=mask))


_FD = {}                                  # cell → the oracle's ∂ℓ_t/∂θ_k (forward passes only: no backward)


def oracle_check(cell):
    """test_every_truncation_scheme_matches_central_differences, for one cell: each scheme's gradient against
    Σ M[t, k] ∂ℓ_t/∂θ_k from the per-(t, k) oracle (computed once per cell: it never calls step_backward)."""
    model, X, targets, _ = make_problem(cell, "tanh", "cross_entropy", T=5, seed=1)
    if cell not in _FD:
        _FD[cell] = stepwise_fd(model, X, targets, "cross_entropy", None)
    fd = _FD[cell]
    trace = ex.forward(model, X, targets, loss="cross_entropy")
    for scheme in (ex.Full(), ex.TBPTT(2, 3), ex.Randomized(0.8, seed=7)):
        assert_close(ex.backward(trace, scheme).grads, masked_fd(fd, scheme.mask(5)))


CHECKS = {"central differences": full_check, "per-(t, k) oracle": oracle_check}


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("cell", CELLS)
def test_the_checks_pass_on_the_real_backward(cell, check):
    CHECKS[check](cell)


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("term", TERMS)
@pytest.mark.parametrize("cell", CELLS)
def test_a_backward_off_by_1e_4_fails_the_checks(cell, term, check, monkeypatch):
    cls = CELLS[cell]
    monkeypatch.setattr(cls, "step_backward", perturbed(cls.step_backward, term))
    with pytest.raises(AssertionError, match=rf"relative error .* > {TOL:.0e}"):
        CHECKS[check](cell)


@pytest.mark.parametrize("cell", CELLS)
def test_the_perturbation_is_what_the_checks_see(cell):
    """Scaling dA_ih by 1 + 1e-4 moves ∂L/∂W_xh, ∂L/∂W_hh and ∂L/∂b_h by exactly 1e-4 (relative) and the readout's
    gradient not at all: the checks reject an error 100× their tolerance, not some side effect of patching."""
    cls = CELLS[cell]
    model, X, targets, _ = make_problem(cell, "tanh", "cross_entropy", T=5)
    good = ex.bptt(model, X, targets).grads
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cls, "step_backward", perturbed(cls.step_backward, "dA_ih"))
        bad = ex.bptt(model, X, targets).grads
    assert set(good) == {"W_xh", "W_hh", "b_h", "W_hy", "b_y"}
    scaled = PERTURBATION / (1 + PERTURBATION)             # relative_error divides by the larger norm
    for k in good:
        err = ex.relative_error(bad[k], good[k])
        assert err == (pytest.approx(scaled, rel=1e-9) if k in ("W_xh", "W_hh", "b_h") else 0.0), (k, err)
