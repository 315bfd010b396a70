"""The training lab in AppTest: defaults, play / pause / step / reset through its buttons, every task, extreme
settings, a run that overflows, and uploads that are not text."""
import io
import re

import numpy as np
import pytest
from test_app import assert_clean, charts, open_app

from explorer.persistence import load_model
from explorer.training import summarize

LAB = "pages/5_Training_lab.py"


LAB_KEYS = {"task": str, "size": int, "opt": str, "lr": str, "clip": str, "theta": float, "B": int, "corpus": str,
            "lab_scheme": str, "delta": float, "adapt_every": int, "kr_lag": int, "kr_short": int, "kr_long": int,
            "kr_n": int}


def open_lab(**params):
    """The app on the lab page; shared settings through the link, the lab's own through its session state (a
    link's lab settings are read when the lab is the first page opened, as in the browser test)."""
    at = open_app(LAB, **{k: v for k, v in params.items() if k not in LAB_KEYS})
    for k, v in params.items():
        if k in LAB_KEYS:
            at.session_state["cfg_" + k] = LAB_KEYS[k](v)
    return at.run()


def button(at, label):
    return next(b for b in at.button if b.label.startswith(label))


def lab(at):
    return at.session_state["lab"]


def test_defaults_play_pause_step_reset():
    at = open_lab()
    assert_clean(at)
    assert "Ready" in at.markdown[-1].value or any("Ready" in m.value for m in at.markdown)
    assert len(charts(at)) == 0                                 # nothing trained yet
    button(at, "▶| step").click().run()
    assert_clean(at)
    assert len(lab(at).records) == 1 and len(charts(at)) == 4
    n0 = len(lab(at).records)
    button(at, "▶ play").click().run()
    assert lab(at).playing and button(at, "❚❚ pause").disabled is False
    # a full rerun only draws: the fragment trains on its own timer (tests/browser: play, then pause)
    assert len(lab(at).records) == n0
    button(at, "❚❚ pause").click().run()
    assert not lab(at).playing
    # a paused run says in one sentence what happened: the summary of exactly the updates it made
    lb = lab(at)
    assert [s.value for s in at.success] == [summarize(list(lb.records), lb.trainer.config, lb.trainer.task)]
    assert at.success[0].value.endswith(f"after {len(lb.records)} updates.")
    button(at, "↺ reset").click().run()
    assert_clean(at)
    assert len(lab(at).records) == 0


def test_live_fragment_trains_within_its_budget_and_records_everything():
    """Call the page's training step directly, as the fragment's timer does."""
    import time

    from explorer import tasks
    from explorer.training import TrainConfig, Trainer
    from ui import live
    from ui import training_lab as tl

    class Status:
        lines = []

        def markdown(self, s):
            self.lines.append(s)

    lb = tl.Lab("k", Trainer(tasks.CopyTask(lag=15), TrainConfig(cell="rnn", hidden_size=32)))
    lb.playing, lb.started = True, time.perf_counter()
    st_ = Status()
    t0 = time.perf_counter()
    live.advance_for(lb, status=st_)
    took = time.perf_counter() - t0
    assert len(lb.records) >= 1 and len(st_.lines) == len(lb.records)    # one status line per update
    assert took < live.UPDATE_BUDGET_S + 1.0
    assert [r.step for r in lb.records] == list(range(1, len(lb.records) + 1))


@pytest.mark.parametrize("task,extra", [("copy", {}), ("adding", {"size": "30"}), ("temporal_order", {}),
                                        ("reber", {}), ("series", {}), ("text", {"size": "25"})])
def test_every_task_steps_and_draws(task, extra):
    at = open_lab(task=task, **extra)
    assert_clean(at)
    for _ in range(3):
        button(at, "▶| step").click().run()
    assert_clean(at)
    assert len(lab(at).records) == 3
    figs = charts(at)
    assert len(figs) == 4
    loss = figs[0]["data"][0]["y"]
    assert len(loss) == 3 and all(np.isfinite(loss))
    if task == "text":
        assert any("unit h_i" in c.value for c in at.caption), "text shows activations over the corpus"


@pytest.mark.parametrize("params", [
    dict(cell="lstm", H="2", task="copy", size="200", B="1", opt="sgd", lr="0.0003", clip="value", theta="0.1"),
    dict(cell="gru", H="128", task="adding", size="2", scheme="tbptt", k1="1", k2="1"),
    dict(cell="indrnn", act="relu", task="series", size="200", scheme="randomized", keep="0.05"),
])
def test_extreme_settings(params):
    at = open_lab(**params)
    assert_clean(at)
    button(at, "▶| step").click().run()
    assert_clean(at)
    assert len(lab(at).records) == 1


def test_an_exploding_run_stops_and_says_where():
    at = open_lab(cell="rnn", act="relu", scale="3", init="identity", H="64", task="series", size="200",
                  clip="off", opt="sgd", lr="0.3")
    for _ in range(6):
        button(at, "▶| step").click().run()
        if lab(at).trainer.state.stopped:
            break
    assert_clean(at) if not lab(at).trainer.state.stopped else None
    assert lab(at).trainer.state.stopped, "ρ = 3 with ReLU and no clipping must overflow"
    assert not at.exception
    assert any("non-finite" in e.value for e in at.error)
    assert button(at, "▶ play").disabled and button(at, "▶| step").disabled


def test_downloads_are_the_history_and_a_loadable_model():
    """The callables the download buttons run (after the script run, without session state: they get the Lab)."""
    from ui.training_lab import history_csv, trained_model_npz
    at = open_lab()
    for _ in range(2):
        button(at, "▶| step").click().run()
    lb = lab(at)
    csv = history_csv(lb)
    assert csv.splitlines()[0].startswith("step,loss,baseline") and len(csv.splitlines()) == 3
    model, extra = load_model(io.BytesIO(trained_model_npz(lb, "copy")))
    assert extra == {"task": "copy", "updates": 2}
    np.testing.assert_array_equal(model.params["W_hh"], lb.trainer.model.params["W_hh"])


# ── uploads that are not a usable corpus: a clear message, no exception, the lab trains on python-docs ──

TWO_MB = 2 * 1024 * 1024
BAD_UPLOADS = {
    "empty": (b"", ["is empty", "UTF-8 text file"]),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, ["looks like a binary file",
                                                                                "not text"]),
    "too_big": (b"a" * (TWO_MB + 1), ["over the limit of 2 MB", "shorter excerpt"]),
    "not_utf8": ("Café, crème brûlée et élève. ".encode("latin-1") * 10, ["is not UTF-8",
                                                                         "byte 0xe9 at position 3"]),
}


def corpus_uploaders(at):
    return [u for u in at.file_uploader if u.label.startswith("Your corpus")]


def open_upload_lab():
    at = open_lab(task="text", corpus="upload")
    assert len(corpus_uploaders(at)) == 1, "the upload option shows the corpus uploader"
    return at


def upload(at, data: bytes, name="corpus.txt"):
    corpus_uploaders(at)[0].set_value((name, data, "text/plain")).run()
    return at


def test_upload_option_shows_the_uploader_and_trains_on_python_docs_until_a_file_comes():
    assert not corpus_uploaders(open_lab(task="text")), "a built-in corpus shows no corpus uploader"
    at = open_upload_lab()
    assert_clean(at)
    assert any("until then the lab uses python-docs" in i.value for i in at.info)
    button(at, "▶| step").click().run()
    assert_clean(at)
    assert len(lab(at).records) == 1
    assert lab(at).trainer.task.corpus.name == "python-docs"


def test_a_good_upload_is_the_corpus_the_lab_trains_on():
    """The positive control for the refusals below: the same path with a valid file uses that file."""
    text = "the quick brown fox jumps over the lazy dog.\n" * 20
    at = upload(open_upload_lab(), text.encode("utf-8"), name="fox.txt")
    assert_clean(at)
    assert not at.info, "no fallback notice once a usable file is uploaded"
    button(at, "▶| step").click().run()
    assert_clean(at)
    corpus = lab(at).trainer.task.corpus
    assert corpus.name == "fox.txt" and corpus.text == text
    assert lab(at).key[2] == f"upload:fox.txt:{len(text)}"
    assert len(lab(at).records) == 1 and np.isfinite(lab(at).records[0].loss)


@pytest.mark.parametrize("kind", list(BAD_UPLOADS))
def test_a_bad_upload_says_why_and_the_lab_falls_back_to_python_docs(kind):
    data, phrases = BAD_UPLOADS[kind]
    at = upload(open_upload_lab(), data)
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1, [e.value for e in at.error]
    msg = unescaped(at.error[0].value)                                # (shown as plain text: escaped markdown)
    assert msg.startswith("“corpus.txt”"), msg                        # names the file ...
    for phrase in phrases:                                            # ... says what is wrong with it ...
        assert phrase in msg, msg
    assert msg.endswith("The lab keeps using python-docs."), msg      # ... and what the lab does instead
    assert "Traceback" not in msg and "CorpusError" not in msg
    assert lab(at).key[2] == "python-docs"
    for _ in range(2):                                                # and it still trains, on python-docs
        button(at, "▶| step").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [unescaped(e.value) for e in at.error] == [msg], "the only message is the upload's, kept while the file is there"
    assert lab(at).trainer.task.corpus.name == "python-docs"
    recs = lab(at).records
    assert len(recs) == 2 and all(np.isfinite(r.loss) for r in recs)
    assert len(charts(at)) == 4
    assert any("unit h_i" in c.value for c in at.caption), "samples and activations are drawn on python-docs"


def unescaped(markdown: str) -> str:
    """What ui.plain_text.plain's escapes render as (backslashes gone, its invisible word joiners dropped)."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def test_the_size_cap_is_exactly_2_mb():
    """2 MB is accepted (up to the other checks), one byte more is refused: the cap is not off by one."""
    from explorer import tasks
    ok = ("abcdefghij klmnopqrstuvwxyz.\n" * (TWO_MB // 29 + 1)).encode()[:TWO_MB]
    assert len(tasks.corpus_from_upload(ok, "ok.txt").text) == TWO_MB
    with pytest.raises(tasks.CorpusError, match="over the limit of 2 MB"):
        tasks.corpus_from_upload(ok + b"x", "big.txt")


# ── adaptive (δ) truncation in the lab, and its race against fixed K ──

def chart_summary(at, key):
    """The sentence ui.blocks.chart writes under the chart `key`."""
    return next(m.value for m in at.markdown if f'data-chart="{key}"' in m.value)


def test_the_lab_trains_with_adaptive_truncation_and_draws_k_over_updates():
    import html

    from explorer.figures import summaries
    from explorer.figures import training_figs as tf
    from ui.training_lab import k_refs
    at = open_lab(cell="lstm", lab_scheme="adaptive", delta="0.2", adapt_every="2")
    assert_clean(at)
    for _ in range(3):
        button(at, "▶| step").click().run()
    assert_clean(at)
    lb = lab(at)
    cfg = lb.trainer.config
    assert (cfg.scheme, cfg.delta, cfg.adapt_every) == ("adaptive", 0.2, 2)
    assert [r.K_estimated for r in lb.records] == [True, False, True]
    assert all(1 <= r.K <= lb.trainer.task.T for r in lb.records)
    assert any(cfg.label() in c.value for c in at.caption), "the caption names the gradient the lab uses"
    figs = charts(at)
    assert len(figs) == 5, "loss, ‖g‖, ‖δ_t‖, ρ/σ₁ and K over updates"
    k_line = next(t for t in figs[4]["data"] if t["mode"] == "lines")
    _, d = tf.k_over_updates({"K in force": tf.history(lb.records)}, refs=k_refs(lb.trainer.task))
    assert k_line["y"] == d["K"].tolist()
    assert html.escape(summaries.k_over_updates(d, k_refs(lb.trainer.task))) in chart_summary(at, "lab_k")
    assert any(f"K = {lb.records[-1].K}" in m.value for m in at.markdown), "the status line says the K in force"
    assert at.latex and not [x.value for x in at.latex if re.search(r"[\x00-\x09\x0b-\x1f]", x.value)], \
        "no equation holds a control character (a '\\t' or '\\f' that lost its backslash)"


def test_a_task_without_a_fixed_length_falls_back_to_the_sidebars_truncation_and_says_so():
    at = open_lab(task="reber", lab_scheme="adaptive")
    assert_clean(at)
    assert any("uses the sidebar's truncation" in i.value for i in at.info)
    button(at, "▶| step").click().run()
    assert_clean(at)
    assert lab(at).trainer.config.scheme == "full" and lab(at).records[0].K is None


def test_the_truncation_race_runs_beside_the_lab_and_draws_its_charts():
    at = open_lab(kr_lag="5", kr_short="3", kr_long="15", kr_n="50", delta="0.3", adapt_every="3")
    assert_clean(at)
    labels = [b.label for b in at.button]
    assert len(labels) == len(set(labels)), f"two runs on one page, every button its own label: {labels}"
    assert len(charts(at)) == 0
    button(at, "▶ start the race").click().run()
    race = at.session_state["krace"]
    assert race.playing and not lab(at).playing, "the race's button starts the race, not the lab"
    assert list(race.trainers) == ["adaptive (δ = 0.3)", "TBPTT(3, 3)", "TBPTT(15, 15)"]
    for _ in range(3 * 7):                                     # what its fragment's timer does
        race.step()
    button(at, "❚❚ hold").click().run()
    assert_clean(at)
    assert not race.playing and race.done == 7
    assert any("race paused" in m.value and "update **7** of 50" in m.value for m in at.markdown)
    figs = charts(at)
    assert len(figs) == 2, "the race's loss curves and its K over updates"
    k_names = [t["name"] for t in figs[1]["data"]]
    assert k_names == ["adaptive (δ = 0.3)", "adaptive (δ = 0.3): K estimated", "TBPTT(3, 3)", "TBPTT(15, 15)"]
    est = [t for t in figs[1]["data"] if t["name"].endswith("K estimated")][0]
    assert est["x"] == [1, 4, 7]
    assert "TBPTT(3, 3): K = 3 at every update 1–7" in chart_summary(at, "krace_k")
    button(at, "↺ new race").click().run()
    assert at.session_state["krace"] is not race and at.session_state["krace"].done == 0


def test_a_stacked_sidebar_is_the_network_the_lab_trains():
    at = open_lab(layers="3")
    assert_clean(at)
    assert any("L = 3 stacked layers" in c.value for c in at.caption)
    assert not any("Layers" in i.value for i in at.info), "no notice: the sidebar's layers are used"
    button(at, "▶| step").click().run()
    assert lab(at).trainer.model.num_layers == 3
    assert not any("stacked layers" in c.value for c in open_lab().caption), "said only when L > 1"
