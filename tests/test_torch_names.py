import io
import pickle

import numpy as np
import pytest
from optional import needs

import explorer as ex
from explorer.torch_names import GATES, TORCH_CELLS, _infer_cell


@pytest.mark.parametrize("cell,act", [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")])
def test_round_trip_through_torch_names_is_lossless(cell, act):
    model = ex.build_model(cell, 3, 5, 2, activation=act, seed=1)
    rng = np.random.default_rng(0)
    for k in model.params:
        model.params[k] = rng.standard_normal(model.params[k].shape)
    sd = ex.to_torch_state_dict(model)
    assert set(sd) == {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "readout.weight", "readout.bias"}
    back = ex.from_torch_state_dict(sd, cell, activation=act)
    assert set(back.params) == set(model.params)
    for k, v in model.params.items():
        np.testing.assert_array_equal(back.params[k], v)


def test_every_torch_cell_is_told_by_its_gate_count():
    """GATES is the cells' own n_gates, and weight_hh_l0's G·H rows tell each cell apart (no two share a G)."""
    assert GATES == {c: ex.CELLS[c].n_gates for c in TORCH_CELLS} and len(set(GATES.values())) == len(GATES)
    for cell in TORCH_CELLS:
        sd = ex.to_torch_state_dict(ex.build_model(cell, 3, 5, 2, seed=0))
        assert sd["weight_hh_l0"].shape == (GATES[cell] * 5, 5)
        assert _infer_cell(sd["weight_ih_l0"], sd["weight_hh_l0"], "ih", "hh") == (cell, 5, 3)


def test_the_gru_candidate_bias_goes_to_the_n_block_of_bias_hh():
    model = ex.build_model("gru", 3, 5, 2, seed=0)
    model.params["b_hn"] = np.arange(1.0, 6.0)
    sd = ex.to_torch_state_dict(model)
    np.testing.assert_array_equal(sd["bias_hh_l0"], np.r_[np.zeros(10), np.arange(1.0, 6.0)])   # (r, z, n)
    back = ex.from_torch_state_dict(sd, "gru")
    np.testing.assert_array_equal(back.params["b_hn"], model.params["b_hn"])
    np.testing.assert_array_equal(back.params["b_h"], model.params["b_h"])


def test_npz_round_trip_and_errors(tmp_path):
    model = ex.build_model("gru", 2, 4, 3, seed=2)
    path = tmp_path / "m.npz"
    np.savez(path, **ex.to_torch_state_dict(model))
    loaded = ex.load_torch_npz(path, "gru")
    for k, v in model.params.items():
        np.testing.assert_array_equal(loaded.params[k], v)
    loaded_bytes = ex.load_torch_npz(path.read_bytes(), "gru")
    np.testing.assert_array_equal(loaded_bytes.params["W_hh"], model.params["W_hh"])

    sd = ex.to_torch_state_dict(model)
    missing = dict(sd)
    del missing["weight_hh_l0"]
    buf = io.BytesIO()
    np.savez(buf, **missing)
    with pytest.raises(ValueError, match=r"missing \['weight_hh_l0'\]"):
        ex.load_torch_npz(buf.getvalue(), "gru")

    wrong = dict(sd, weight_hh_l0=np.zeros((12, 5)))
    buf = io.BytesIO()
    np.savez(buf, **wrong)
    with pytest.raises(ValueError, match="W_hh must have shape"):
        ex.load_torch_npz(buf.getvalue(), "gru")

    ints = dict(sd, bias_ih_l0=np.zeros(12, dtype=np.int64))
    buf = io.BytesIO()
    np.savez(buf, **ints)
    with pytest.raises(ValueError, match="must hold floats"):
        ex.load_torch_npz(buf.getvalue(), "gru")

    # a pickled object inside the .npz is refused, never unpickled
    class Boom:
        def __reduce__(self):
            return (print, ("unpickled!",))
    obj = dict(sd, weight_hh_l0=np.array([Boom()], dtype=object))
    buf = io.BytesIO()
    np.savez(buf, **obj)
    with pytest.raises(ValueError, match="pickled objects are refused"):
        ex.load_torch_npz(buf.getvalue(), "gru")

    for junk in (b"", b"not a zip at all", pickle.dumps({"a": 1})):
        with pytest.raises(ValueError, match="not a readable .npz of torch weights"):
            ex.load_torch_npz(junk, "gru")
    with pytest.raises(ValueError, match="no torch.nn equivalent"):
        ex.to_torch_state_dict(ex.build_model("indrnn", 1, 2, 1))


@pytest.mark.parametrize("cell,act", [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")])
def test_matches_torch_autograd(cell, act):
    """Our forward and every gradient equal torch.nn's on the same weights (float64)."""
    torch = needs("torch")
    torch.manual_seed(0)
    T, B, D, H, O = 15, 3, 4, 6, 5
    kw = {"nonlinearity": act} if cell == "rnn" else {}
    net = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](D, H, **kw).double()
    lin = torch.nn.Linear(H, O).double()
    with torch.no_grad():                 # non-zero bias_hh so the bias mapping matters
        net.bias_hh_l0.uniform_(-0.5, 0.5)
    sd = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    sd.update({f"readout.{k}": v.detach().numpy() for k, v in lin.state_dict().items()})
    model = ex.from_torch_state_dict(sd, cell, activation=act)
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((T, B, D)), rng.integers(0, O, (T, B))
    out, _ = net(torch.from_numpy(X))
    logits = lin(out)
    L = torch.nn.functional.cross_entropy(logits.reshape(-1, O), torch.from_numpy(y).reshape(-1), reduction="sum") / B
    L.backward()
    rec = ex.bptt(model, X, y)
    assert rec.trace.loss == pytest.approx(L.item(), rel=1e-13)
    np.testing.assert_allclose(rec.trace.Y, logits.detach().numpy(), rtol=0, atol=1e-13)
    tg = {k: v.grad.numpy() for k, v in net.named_parameters()}
    ours_as_torch = ex.to_torch_state_dict(ex.model_from_params(cell, rec.grads, activation=act))
    np.testing.assert_allclose(ours_as_torch["weight_ih_l0"], tg["weight_ih_l0"], atol=1e-13)
    np.testing.assert_allclose(ours_as_torch["weight_hh_l0"], tg["weight_hh_l0"], atol=1e-13)
    np.testing.assert_allclose(rec.grads["b_h"], tg["bias_ih_l0"], atol=1e-13)
    if cell == "gru":
        np.testing.assert_allclose(rec.grads["b_hn"], tg["bias_hh_l0"][2 * H:], atol=1e-13)
    np.testing.assert_allclose(rec.grads["W_hy"], lin.weight.grad.numpy(), atol=1e-13)
