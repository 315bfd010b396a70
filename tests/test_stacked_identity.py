"""num_layers = 1 is bit-identical to the engine before stacked layers existed (issue #17).

tests/fixtures/single_layer.npz was written by tests/fixtures/make_single_layer_fixture.py at commit e6d2310 (the
last one before stacking): forward traces, every truncation scheme's gradients and records, the all-losses maps,
checkpointing, clipping, Jacobians, save/load and PyTorch names for eight cell/activation pairs. Here the same
script runs on today's engine and every array must be equal to the bit (np.array_equal, same dtype). Bitwise
equality of floats holds only on the NumPy/BLAS build and CPU family the file was made on, so elsewhere (a CI
runner with another CPU) the comparison is to 1e-12 relative and the test says so in its name-less message.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
import make_single_layer_fixture as fixture  # noqa: E402


@pytest.fixture(scope="module")
def stored():
    with np.load(FIXTURES / "single_layer.npz") as z:
        return fixture.unpack(z)


def test_single_layer_results_are_bit_identical_to_before_stacking(stored):
    want, made_on = stored
    got = fixture.compute()
    assert set(got) == set(want), f"missing {sorted(set(want) - set(got))[:5]}, new {sorted(set(got) - set(want))[:5]}"
    exact = made_on == fixture.fingerprint()
    differ = []
    for k, w in want.items():
        g = got[k]
        assert g.dtype == w.dtype and g.shape == w.shape, f"{k}: {g.dtype}{g.shape} vs stored {w.dtype}{w.shape}"
        if exact:
            if not np.array_equal(g, w, equal_nan=True):
                differ.append(k)
        elif not np.allclose(g, w, rtol=1e-12, atol=1e-300, equal_nan=True):
            differ.append(k)
    how = "bit for bit" if exact else f"to 1e-12 (made on {made_on}, this is {fixture.fingerprint()})"
    assert not differ, f"{len(differ)} of {len(want)} results changed ({how}): {differ[:8]}"


def test_the_identity_check_can_fail(stored):
    """One ulp in one parameter changes the stored results: the comparison above is not vacuous."""
    want, made_on = stored
    import explorer as ex
    model = ex.build_model("rnn", 2, 4, 3, activation="tanh", init="gaussian", scale=0.9, seed=3)
    model.params = {k: np.array(want[f"rnn-tanh/params/{k}"]) for k in model.params}
    model.params["W_hh"][0, 0] = np.nextafter(model.params["W_hh"][0, 0], np.inf)
    rng = np.random.default_rng(11)
    for k in model.params:                 # replay the fixture's draws to get its X
        if k.startswith("b"):
            rng.normal(0, 0.3, model.params[k].shape)
    X = rng.standard_normal((7, 2, 2))
    y = rng.integers(0, 3, (7, 2))
    rng.standard_normal((7, 2, 3))
    mask = (rng.random((7, 2)) < 0.7).astype(float)
    g = ex.bptt(model, X, y, mask=mask).grads["W_hh"]
    assert not np.array_equal(g, want["rnn-tanh/cross_entropy/full/grads/W_hh"])
    # and without the nudge the same call reproduces the stored gradient (exactly on the machine it was made on)
    model.params["W_hh"][0, 0] = want["rnn-tanh/params/W_hh"][0, 0]
    g = ex.bptt(model, X, y, mask=mask).grads["W_hh"]
    w = want["rnn-tanh/cross_entropy/full/grads/W_hh"]
    assert np.array_equal(g, w) if made_on == fixture.fingerprint() else np.allclose(g, w, rtol=1e-12)
