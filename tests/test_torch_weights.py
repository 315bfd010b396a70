"""Weights of real torch.nn.RNN / LSTM / GRU modules, saved as .npz or .safetensors, bare or inside a bigger
module, with or without biases and a readout: load_recurrent_weights gives weights whose forward pass equals
torch's (float64, ≤ 1e-12), Trainer.from_weights trains from them, and what cannot be loaded (stacked,
bidirectional, proj_size, wrong dtypes or shapes) is refused with a message that says so."""
import io
import json

import numpy as np
import pytest
from optional import needs
from test_upload_safety import GOLDEN_SAFETENSORS, golden_values

import explorer as ex
from explorer import tasks
from explorer.torch_names import load_recurrent_weights, recurrent_weights
from explorer.training import TrainConfig, Trainer

CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
T, B, D, H, O = 12, 3, 2, 5, 1          # D = 2, O = 1: the adding task's sizes, so from_weights can train


def npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


_ST_DTYPES = {np.dtype("<f8"): "F64", np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("<i8"): "I64"}


def safetensors_bytes(arrays: dict) -> bytes:
    """What safetensors.numpy.save writes (the package is not a test dependency; its own output is checked
    against the reader in test_upload_safety's golden file)."""
    header, body = {}, b""
    for k, v in arrays.items():
        v = np.ascontiguousarray(v)
        header[k] = {"dtype": _ST_DTYPES[v.dtype], "shape": list(v.shape),
                     "data_offsets": [len(body), len(body) + v.nbytes]}
        body += v.tobytes()
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return len(h).to_bytes(8, "little") + h + body


SAVE = {"npz": (npz_bytes, "weights.npz"), "safetensors": (safetensors_bytes, "weights.safetensors")}


def torch_net(torch, cell, act, bias=True, **kw):
    torch.manual_seed(0)
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    extra = {"nonlinearity": act} if cell == "rnn" else {}
    net = cls(D, H, bias=bias, **extra, **kw).double()
    if bias:
        with torch.no_grad():             # non-zero bias_hh so the bias mapping matters
            net.bias_hh_l0.uniform_(-0.5, 0.5)
    return net


def state_dict_of(torch, net, prefix: str, readout: bool, O_out: int = O) -> tuple[dict, object]:
    """(arrays, the readout Linear or None): bare keys with readout.* (our own layout), or a whole module's keys
    encoder.rnn.* with a head Linear (the layout of a typical torch model)."""
    lin = torch.nn.Linear(H, O_out).double() if readout else None
    if prefix:
        mod = torch.nn.Module()
        mod.encoder = torch.nn.Module()
        mod.encoder.rnn = net
        if readout:
            mod.head = lin
        mod.embed_scale = torch.nn.Parameter(torch.ones(1, dtype=torch.float64))    # an unrelated entry
        sd = mod.state_dict()
    else:
        sd = dict(net.state_dict())
        if readout:
            sd.update({f"readout.{k}": v for k, v in lin.state_dict().items()})
    return {k: v.detach().numpy() for k, v in sd.items()}, lin


@pytest.mark.parametrize("fmt", list(SAVE))
@pytest.mark.parametrize("readout", [True, False], ids=["readout", "no readout"])
@pytest.mark.parametrize("prefix", ["", "encoder.rnn."], ids=["bare", "prefixed"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "bias=False"])
@pytest.mark.parametrize("cell,act", CELLS)
def test_real_torch_weights_give_torchs_forward_pass(cell, act, bias, prefix, readout, fmt):
    torch = needs("torch")
    net = torch_net(torch, cell, act, bias)
    arrays, lin = state_dict_of(torch, net, prefix, readout)
    save, filename = SAVE[fmt]
    w = load_recurrent_weights(save(arrays), filename, activation=act)       # the cell is inferred
    assert (w.cell, w.hidden_size, w.input_size, w.activation) == (cell, H, D, act)
    assert set(w.params) == ({"W_xh", "W_hh", "b_h", "b_hn"} if cell == "gru" else {"W_xh", "W_hh", "b_h"})
    layer = {"rnn": f"an RNN layer ({act}, ", "lstm": "an LSTM layer (", "gru": "a GRU layer ("}[cell]
    assert w.description.startswith(f"{layer}H = {H}, D = {D}) from {prefix}weight_ih_l0 … {prefix}"
                                    + ("bias_hh_l0" if bias else "weight_hh_l0, without biases (bias=False: zeros)"))
    if readout:
        name = "head" if prefix else "readout"
        assert f"; readout {name}.weight (O = {O}) and {name}.bias" in w.description
        np.testing.assert_array_equal(w.readout[0], lin.weight.detach().numpy())
    else:
        assert w.readout is None and "no readout found: a fresh one is made for the task" in w.description
    if prefix:
        assert w.description.endswith("; 1 other entry ignored")             # embed_scale

    rng = np.random.default_rng(1)
    X = rng.standard_normal((T, B, D))
    model = w.to_model(w.readout or (np.zeros((O, H)), np.zeros(O)))
    trace = ex.forward(model, X)
    out, last = net(torch.from_numpy(X))
    np.testing.assert_allclose(trace.states[1:, :, :H], out.detach().numpy(), rtol=0, atol=1e-12)
    if cell == "lstm":
        np.testing.assert_allclose(trace.states[-1, :, H:], last[1][0].detach().numpy(), rtol=0, atol=1e-12)
    if readout:
        np.testing.assert_allclose(trace.Y, lin(out).detach().numpy(), rtol=0, atol=1e-12)

    trainer = Trainer.from_weights(tasks.AddingTask(T=20), TrainConfig(cell=cell, hidden_size=H, activation=act,
                                                                       batch_size=8), w)
    np.testing.assert_array_equal(trainer.model.params["W_hh"], w.params["W_hh"])
    if readout:
        np.testing.assert_array_equal(trainer.model.params["W_hy"], w.readout[0])
    records = list(trainer.run(3))
    assert len(records) == 3 and all(r.finite and np.isfinite(r.loss) for r in records)
    assert not np.array_equal(trainer.model.params["W_hh"], w.params["W_hh"]), "it trained"
    assert trainer.note.startswith("Started from " + w.description)


def test_float32_weights_load_as_float64():
    torch = needs("torch")
    net = torch.nn.GRU(D, H)
    arrays = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    assert arrays["weight_hh_l0"].dtype == np.float32
    for save, filename in SAVE.values():
        w = load_recurrent_weights(save(arrays), filename)
        assert w.cell == "gru" and w.params["W_hh"].dtype == np.float64
        np.testing.assert_array_equal(w.params["W_hh"], arrays["weight_hh_l0"])


def test_the_format_is_told_by_content_not_by_the_extension():
    torch = needs("torch")
    arrays, _ = state_dict_of(torch, torch_net(torch, "lstm", "tanh"), "", readout=False)
    a = load_recurrent_weights(npz_bytes(arrays), "model.safetensors")
    b = load_recurrent_weights(safetensors_bytes(arrays), "model.npz")
    c = load_recurrent_weights(safetensors_bytes(arrays), "model.bin")
    for w in (b, c):
        for k, v in a.params.items():
            np.testing.assert_array_equal(w.params[k], v)


def test_a_safetensors_header_length_that_starts_with_pk_is_not_taken_for_a_zip():
    data = safetensors_bytes(good_gru())
    n = int.from_bytes(data[:8], "little")
    padded = int.from_bytes(b"PK", "little")                  # 19280: a header of ~200 tensors' JSON
    data = padded.to_bytes(8, "little") + data[8:8 + n] + b" " * (padded - n) + data[8 + n:]
    assert data.startswith(b"PK")
    w = load_recurrent_weights(data, "w.bin")
    np.testing.assert_array_equal(w.params["W_hh"], good_gru()["weight_hh_l0"])


def test_the_golden_safetensors_file_from_the_real_package_loads_as_a_gru_with_its_readout():
    """No torch needed: the bytes safetensors.torch.save wrote for a GRU (H = 2, D = 1), F32/BF16/F16 mixed."""
    w = load_recurrent_weights(GOLDEN_SAFETENSORS, "gru.safetensors")
    v = golden_values()
    assert (w.cell, w.hidden_size, w.input_size) == ("gru", 2, 1)
    np.testing.assert_array_equal(w.params["W_hh"], v["rnn.weight_hh_l0"])
    b_ih, b_hh = v["rnn.bias_ih_l0"], v["rnn.bias_hh_l0"]
    np.testing.assert_array_equal(w.params["b_h"], b_ih + np.concatenate([b_hh[:4], np.zeros(2)]))
    np.testing.assert_array_equal(w.params["b_hn"], b_hh[4:])
    np.testing.assert_array_equal(w.readout[0], v["fc.weight"])
    np.testing.assert_array_equal(w.readout[1], v["fc.bias"])
    assert w.description == ("a GRU layer (H = 2, D = 1) from rnn.weight_ih_l0 … rnn.bias_hh_l0; "
                             "readout fc.weight (O = 3) and fc.bias")


def test_from_weights_makes_a_fresh_readout_when_the_files_does_not_fit_and_says_so():
    torch = needs("torch")
    arrays, _ = state_dict_of(torch, torch_net(torch, "lstm", "tanh"), "encoder.rnn.", readout=True, O_out=4)
    w = load_recurrent_weights(npz_bytes(arrays), "lstm.npz")
    assert w.readout[0].shape == (4, H)
    task, cfg = tasks.AddingTask(T=20), TrainConfig(cell="lstm", hidden_size=H, seed=7)
    trainer = Trainer.from_weights(task, cfg, w)
    fresh = Trainer(task, cfg).model.params                  # what build_model makes with config.seed
    np.testing.assert_array_equal(trainer.model.params["W_hy"], fresh["W_hy"])
    np.testing.assert_array_equal(trainer.model.params["b_y"], fresh["b_y"])
    np.testing.assert_array_equal(trainer.model.params["W_hh"], w.params["W_hh"])
    assert trainer.note == (f"Started from {w.description}, but that readout has O = 4 outputs and this task "
                            "needs 1: a fresh readout is used instead.")
    assert all(r.finite for r in trainer.run(2))
    no_readout = recurrent_weights({k: v for k, v in arrays.items() if not k.startswith("head.")})
    t2 = Trainer.from_weights(task, cfg, no_readout)
    np.testing.assert_array_equal(t2.model.params["W_hy"], fresh["W_hy"])
    assert "no readout found: a fresh one is made for the task" in t2.note


def test_from_weights_checks_the_setup_like_from_model():
    torch = needs("torch")
    arrays, _ = state_dict_of(torch, torch_net(torch, "gru", "tanh"), "", readout=False)
    w = load_recurrent_weights(npz_bytes(arrays), "gru.npz")
    task = tasks.AddingTask(T=20)
    with pytest.raises(ValueError, match=r"these weights do not fit the current setup: H 5 \(the lab has 8\)"):
        Trainer.from_weights(task, TrainConfig(cell="gru", hidden_size=8), w)
    with pytest.raises(ValueError, match=r"cell gru \(the lab has lstm\)"):
        Trainer.from_weights(task, TrainConfig(cell="lstm", hidden_size=H), w)
    with pytest.raises(ValueError, match=r"D 2 \(the lab has 10\)"):
        Trainer.from_weights(tasks.CopyTask(lag=5), TrainConfig(cell="gru", hidden_size=H), w)
    relu = recurrent_weights(state_dict_of(torch, torch_net(torch, "rnn", "relu"), "", False)[0], activation="relu")
    with pytest.raises(ValueError, match=r"activation relu \(the lab has tanh\)"):
        Trainer.from_weights(task, TrainConfig(cell="rnn", hidden_size=H), relu)


@pytest.mark.parametrize("kind,words", [
    ("stacked", "only the first layer of a stacked nn.LSTM can be loaded; this one has 3 layers "
                "(weight_ih_l0 … weight_ih_l2): save one with num_layers=1"),
    ("bidirectional", "weight_ih_l0_reverse is present: this nn.GRU is bidirectional, and only a one-direction "
                      "layer can be loaded (bidirectional=False)"),
    ("proj_size", "weight_hr_l0 is present: an LSTM with proj_size=3 projects h_t down to 3 units, which this "
                  "engine's LSTM does not; only proj_size=0 layers can be loaded"),
    ("prefixed stacked", "only the first layer of a stacked nn.RNN can be loaded; this one has 2 layers "
                         "(encoder.rnn.weight_ih_l0 … encoder.rnn.weight_ih_l1)"),
])
def test_layers_this_engine_cannot_hold_are_refused_with_a_reason(kind, words):
    torch = needs("torch")
    net = {"stacked": lambda: torch_net(torch, "lstm", "tanh", num_layers=3),
           "bidirectional": lambda: torch_net(torch, "gru", "tanh", bidirectional=True),
           "proj_size": lambda: torch_net(torch, "lstm", "tanh", proj_size=3),
           "prefixed stacked": lambda: torch_net(torch, "rnn", "tanh", num_layers=2)}[kind]()
    arrays, _ = state_dict_of(torch, net, "encoder.rnn." if kind.startswith("prefixed") else "", readout=True)
    for save, filename in SAVE.values():
        with pytest.raises(ValueError) as e:
            load_recurrent_weights(save(arrays), filename)
        assert words in str(e.value), str(e.value)


def good_gru() -> dict:
    rng = np.random.default_rng(0)
    return {"weight_ih_l0": rng.standard_normal((3 * H, D)), "weight_hh_l0": rng.standard_normal((3 * H, H)),
            "bias_ih_l0": rng.standard_normal(3 * H), "bias_hh_l0": rng.standard_normal(3 * H)}


@pytest.mark.parametrize("change,kw,words", [
    (dict(weight_hh_l0=np.zeros((3 * H, H), dtype=np.int64)), {}, "weight_hh_l0 must hold floats, got dtype int64"),
    (dict(weight_hh_l0=np.zeros((2 * H, H))), {}, "weight_hh_l0 has shape (10, 5): nn.RNN, nn.GRU and nn.LSTM have "
                                                  "1, 3 or 4 × H rows for their H columns"),
    (dict(weight_ih_l0=np.zeros((4 * H, D))), {}, "weight_ih_l0 has 20 rows but weight_hh_l0 has 15: both must have "
                                                  "G·H rows"),
    (dict(bias_ih_l0=np.zeros(4)), {}, "bias_ih_l0 must have shape (15,) for H=5, got (4,)"),
    (dict(bias_hh_l0=None), {}, "bias_ih_l0 is present but bias_hh_l0 is not: a torch layer has both biases or "
                                "neither (bias=False)"),
    (dict(weight_hh_l0=np.full((3 * H, H), np.nan)), {}, "weight_hh_l0 holds NaN or infinite values"),
    (dict(weight_ih_l0=np.zeros(3 * H)), {}, "weight_ih_l0 must be 2-D, got shape (15,)"),
    ({}, dict(cell="lstm"), "cell='lstm' was asked for, but these are a GRU's weights: weight_hh_l0 has 3·H = 15 "
                            "rows for H = 5"),
    ({}, dict(cell="indrnn"), "cell"),
    ({}, dict(activation="relu"), "activation for a GRU must be 'tanh'"),
    ({"readout.weight": np.zeros((2, H + 1)), "readout.bias": np.zeros(2)}, {},
     "readout.weight has shape (2, 6); a readout of the layer's H = 5 units is (O, 5)"),
    ({"fc.weight": np.zeros((2, H), dtype=np.int32), "fc.bias": np.zeros(2)}, {}, "fc.weight must hold floats"),
    (dict(weight_ih_l0=None, weight_hh_l0=None), {}, "no recurrent layer found: nn.RNN, nn.LSTM and nn.GRU name "
                                                     "their weights weight_ih_l0"),
    ({"dec.weight_ih_l0": np.zeros((3 * H, D)), "dec.weight_hh_l0": np.zeros((3 * H, H))}, {},
     "found 2 recurrent layers (weight_ih_l0, dec.weight_ih_l0); only a file with one can be loaded"),
])
def test_inconsistent_state_dicts_are_refused_with_a_reason(change, kw, words):
    sd = {k: v for k, v in dict(good_gru(), **change).items() if v is not None}
    with pytest.raises(ValueError) as e:
        load_recurrent_weights(npz_bytes(sd), "w.npz", **kw)
    assert words in str(e.value), str(e.value)


def test_readouts_found_or_not():
    sd = good_gru()
    two = dict(sd, **{"fc.weight": np.ones((2, H)), "fc.bias": np.ones(2), "aux.weight": np.ones((3, H))})
    w = recurrent_weights(two)
    assert w.readout is None
    assert "2 possible readouts (fc.weight, aux.weight), none used: a fresh one is made for the task" in w.description
    no_bias = recurrent_weights(dict(sd, **{"fc.weight": np.ones((2, H)), "emb.weight": np.ones((7, D))}))
    np.testing.assert_array_equal(no_bias.readout[1], np.zeros(2))
    assert "readout fc.weight (O = 2), no bias (zeros); 1 other entry ignored" in no_bias.description
    with pytest.raises(ValueError, match="these weights have no readout"):
        recurrent_weights(sd).to_model()


@pytest.mark.parametrize("data,filename,words", [
    (b"\x80\x02}q\x00.", "model.pt",
     "“model.pt” is neither an .npz (a zip of .npy arrays) nor a .safetensors file (it looks like a pickle, as old "
     "torch.save files are: those are never loaded)"),
    (b"hello world", "w.npz",
     "“w.npz” is not a readable .npz of weights (an .npz of plain arrays): it is not a zip"),
    (GOLDEN_SAFETENSORS[:300], "w.safetensors",
     "“w.safetensors” is not a readable .safetensors file: the file is truncated"),
    (npz_bytes({"weight_hh_l0": np.array([object()])}), "w.npz", "pickled objects are refused"),
])
def test_unreadable_files_say_what_they_are(data, filename, words):
    with pytest.raises(ValueError) as e:
        load_recurrent_weights(data, filename)
    assert words in str(e.value), str(e.value)


def test_a_torch_save_zip_is_refused_as_a_pickle():
    torch = needs("torch")
    buf = io.BytesIO()
    torch.save(torch.nn.GRU(D, H).state_dict(), buf)
    with pytest.raises(ValueError, match=r"is a pickle \(this looks like a torch.save .pt/.pth file\): pickled "
                                         "objects are refused"):
        load_recurrent_weights(buf.getvalue(), "model.pt")
