"""A model .npz uploaded to the training lab: a good one restarts training from its weights; every bad one (empty,
binary, huge, a zip bomb, wrong keys, pickled objects, the wrong shape of network) gives a clear message, is never
unpickled, and leaves the current run untouched."""
import io
import zipfile

import numpy as np
import pytest
from test_app import open_app
from test_training_lab import unescaped

from explorer import tasks
from explorer.npz_files import read_npz
from explorer.persistence import load_model, model_bytes
from explorer.training import TrainConfig, Trainer

LAB = "pages/5_Training_lab.py"


def lab_page():
    at = open_app(LAB)
    at.session_state["cfg_task"] = "copy"
    at.run()
    return at


def upload(at, name, data):
    at.file_uploader(key="lab_model_upload").set_value((name, data, "application/octet-stream"))
    return at.run()


def trained_model_bytes(cell="rnn", H=32, lag=15):
    tr = Trainer(tasks.CopyTask(lag=lag), TrainConfig(cell=cell, hidden_size=H, snapshot_every=0))
    for _ in tr.run(3):
        pass
    return model_bytes(tr.model, {"task": "copy"}), tr.model


def npz(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("W_hh.npy", b"\0" * (300 * 2 ** 20))           # 300 MB of zeros, ~300 kB compressed
    return buf.getvalue()


class Evil:
    def __reduce__(self):
        return (exec, ("raise SystemExit('unpickled!')",))


def pickled_npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, W_hh=np.array([Evil()], dtype=object))
    return buf.getvalue()


BAD = {
    "empty": (b"", "not a model file"),
    "binary": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "not a model file"),
    "huge": (b"PK" + b"\0" * (51 * 2 ** 20), "limit"),
    "zip bomb": (zip_bomb(), "unpack"),
    "wrong keys": (npz(weights=np.zeros(3)), "__config__"),
    "pickled objects": (pickled_npz(), "pickled objects are refused"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_model_files_are_refused_with_a_clear_message(case):
    data, words = BAD[case]
    with pytest.raises(ValueError) as e:
        load_model(data)
    assert words.lower() in str(e.value).lower(), str(e.value)


def test_read_npz_never_unpickles():
    with pytest.raises(ValueError, match="pickled objects are refused"):
        read_npz(pickled_npz(), "not a model")


def test_a_model_must_fit_the_lab():
    data, model = trained_model_bytes(cell="rnn", H=8)
    m, _ = load_model(data)
    task = tasks.CopyTask(lag=15)
    tr = Trainer.from_model(task, TrainConfig(cell="rnn", hidden_size=8), m)
    np.testing.assert_array_equal(tr.model.params["W_hh"], model.params["W_hh"])
    tr.model.params["W_hh"][0, 0] += 1.0
    assert m.params["W_hh"][0, 0] != tr.model.params["W_hh"][0, 0], "the trainer owns a copy"
    with pytest.raises(ValueError, match=r"H 8 \(the lab has 16\)"):
        Trainer.from_model(task, TrainConfig(cell="rnn", hidden_size=16), m)
    with pytest.raises(ValueError, match="cell rnn"):
        Trainer.from_model(task, TrainConfig(cell="lstm", hidden_size=8), m)
    with pytest.raises(ValueError, match="D"):
        Trainer.from_model(tasks.AddingTask(T=20), TrainConfig(cell="rnn", hidden_size=8), m)


def test_the_lab_starts_from_an_uploaded_model():
    at = lab_page()
    data, model = trained_model_bytes(cell="rnn", H=32)
    upload(at, "mine.npz", data)
    assert not at.exception and not at.error, [e.value for e in at.error]
    lab = at.session_state["lab"]
    np.testing.assert_array_equal(lab.trainer.model.params["W_hh"], model.params["W_hh"])
    assert any("“mine.npz”: Started from the model saved by this lab" in unescaped(c.value) for c in at.caption)
    next(b for b in at.button if b.label.startswith("▶| step")).click().run()
    assert len(at.session_state["lab"].records) == 1 and not at.exception


def torch_named_npz(cell: str, H: int, D: int, *, readout: bool, prefix: str = "") -> tuple[bytes, dict]:
    """A PyTorch-style state_dict (weight_ih_l0 …, optionally a fc Linear) saved with np.savez, made without torch
    from a model of ours (explorer.torch_names.to_torch_state_dict)."""
    from explorer import build_model
    from explorer.torch_names import to_torch_state_dict
    sd = to_torch_state_dict(build_model(cell, D, H, 1, seed=3), readout_prefix="fc")
    if not readout:
        sd = {k: v for k, v in sd.items() if not k.startswith("fc.")}
    sd = {prefix + k if not k.startswith("fc.") else k: v for k, v in sd.items()}
    buf = io.BytesIO()
    np.savez(buf, **sd)
    return buf.getvalue(), sd


def test_the_lab_starts_from_a_pytorch_layer_without_a_readout():
    at = lab_page()                                              # copy task: D = 10, O = 10; the lab's RNN, H = 32
    data, sd = torch_named_npz("rnn", 32, 10, readout=False, prefix="encoder.rnn.")
    upload(at, "encoder.npz", data)
    assert not at.exception and not at.error, [e.value for e in at.error]
    W = at.session_state["lab"].trainer.model.params
    np.testing.assert_array_equal(W["W_hh"], sd["encoder.rnn.weight_hh_l0"])
    assert W["W_hy"].shape == (tasks.CopyTask(lag=15).output_size, 32)
    said = " ".join(unescaped(c.value) for c in at.caption)
    assert "“encoder.npz”: Started from" in said and "no readout found: a fresh one is made" in said, said
    assert "φ is used" in said
    next(b for b in at.button if b.label.startswith("▶| step")).click().run()
    assert len(at.session_state["lab"].records) == 1 and not at.exception


def test_a_pytorch_layer_of_the_wrong_size_is_refused_and_a_new_file_replaces_the_message():
    at = lab_page()
    upload(at, "small.npz", torch_named_npz("rnn", 8, 10, readout=True)[0])
    msgs = [unescaped(e.value) for e in at.error]
    assert len(msgs) == 1 and "“small.npz” was not loaded" in msgs[0] and "H 8 (the lab has 32)" in msgs[0], msgs
    upload(at, "good.npz", torch_named_npz("rnn", 32, 10, readout=True)[0])
    assert not at.error, [e.value for e in at.error]             # the earlier file's error is gone
    assert any("“good.npz”: Started from" in unescaped(c.value) for c in at.caption)


@pytest.mark.parametrize("case", ["empty", "binary", "wrong keys", "pickled objects", "wrong network"])
def test_the_lab_refuses_bad_uploads_and_keeps_its_run(case):
    at = lab_page()
    next(b for b in at.button if b.label.startswith("▶| step")).click().run()
    before = at.session_state["lab"]
    W = before.trainer.model.params["W_hh"].copy()
    data = trained_model_bytes(cell="gru", H=4)[0] if case == "wrong network" else BAD[case][0]
    upload(at, "x.npz", data)
    assert not at.exception
    msgs = [e.value for e in at.error]
    assert len(msgs) == 1 and "was not loaded" in msgs[0] and "keeps its current run" in msgs[0], msgs
    lab = at.session_state["lab"]
    assert lab is before and len(lab.records) == 1
    np.testing.assert_array_equal(lab.trainer.model.params["W_hh"], W)
    next(b for b in at.button if b.label.startswith("▶| step")).click().run()      # the session is intact
    assert len(at.session_state["lab"].records) == 2


def test_the_lab_starts_from_a_real_torch_lstm_saved_as_safetensors():
    """A real nn.LSTM (D = 10 for the copy task, H = 32) whose state_dict went to .safetensors: the lab, set to an
    LSTM, trains from exactly those weights."""
    from optional import needs
    from test_torch_weights import safetensors_bytes
    torch = needs("torch")
    torch.manual_seed(0)
    net = torch.nn.LSTM(tasks.CopyTask(lag=15).input_size, 32).double()
    sd = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    at = open_app(LAB, cell="lstm")
    at.session_state["cfg_task"] = "copy"
    at.run()
    upload(at, "lstm.safetensors", safetensors_bytes(sd))
    assert not at.exception and not at.error, [e.value for e in at.error]
    W = at.session_state["lab"].trainer.model.params
    np.testing.assert_array_equal(W["W_hh"], sd["weight_hh_l0"])
    np.testing.assert_allclose(W["b_h"], sd["bias_ih_l0"] + sd["bias_hh_l0"], rtol=0, atol=1e-15)
    said = " ".join(unescaped(c.value) for c in at.caption)
    assert "“lstm.safetensors”: Started from an LSTM layer (H = 32, D = 10)" in said, said
    next(b for b in at.button if b.label.startswith("▶| step")).click().run()
    assert len(at.session_state["lab"].records) == 1 and not at.exception


@pytest.mark.parametrize("name", ["[x](http://e.x)**b**.npz", "![](http://e.x/p.png).npz", "<b>x</b>$\\int$.npz"])
def test_an_uploaded_files_name_is_plain_text(name):
    """A file name with markdown, HTML or LaTeX in it is shown as typed: no link, image, bold or math."""
    from test_links import assert_plain_markdown
    at = lab_page()
    upload(at, name, b"not an npz")
    msgs = [e.value for e in at.error]
    assert len(msgs) == 1 and name in unescaped(msgs[0]), msgs
    head = msgs[0].split(" was not loaded")[0]               # the user-derived part: the quoted name
    assert_plain_markdown(head)


@pytest.mark.parametrize("kind,words", [("header bomb", "declares shape (1000000, 1000000)"),
                                        ("inflates to 250 MB", "unpack to 250 MB")])
def test_the_lab_refuses_files_that_would_take_gigabytes_before_reading_them(kind, words):
    """A 6 kB file declaring 8 TB, a 255 kB file inflating to 250 MB: refused with the reason, in a few MB, and
    the rest of the page still drawn (it used to escape as a MemoryError that skipped the page)."""
    import tracemalloc

    from test_upload_safety import header_bomb, inflating_npz
    at = lab_page()
    next(b for b in at.button if b.label.startswith("▶| step")).click().run()
    data = header_bomb() if kind == "header bomb" else inflating_npz(250)
    tracemalloc.start()
    try:
        upload(at, "big.npz", data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not at.exception
    msgs = [unescaped(e.value) for e in at.error]
    assert len(msgs) == 1 and words in msgs[0] and "keeps its current run" in msgs[0], msgs
    assert peak < 60e6, f"{peak / 1e6:.0f} MB traced while refusing it"
    assert len(at.get("plotly_chart")) == 4                   # the page is still drawn
