"""The training lab's adaptive truncation (explorer.training, scheme "adaptive"): TBPTT(K, K) with K from Aicher,
Foti & Fox's rule, estimated again every `adapt_every` updates from the current model on a fresh batch. Its updates
are TBPTT(K, K)'s exactly, K is estimated exactly when it should be and from the model as it is then, a smaller δ
asks for a longer K, a saved run resumes bit for bit (K is part of the state), older states still load, bad settings
say what is wrong. Then the K-over-updates chart and its sentence, the race against fixed K on the copy task, and
the lab page running the scheme (AppTest)."""
import io
import json
import re

import numpy as np
import plotly.graph_objects as go
import pytest

from explorer import tasks
from explorer.figures import summaries
from explorer.figures import training_figs as tf
from explorer.scenario import Scenario
from explorer.training import TrainConfig, Trainer, estimate_K, reach, summarize

# A tanh RNN at ρ = 0.7 on the copy task: its gradient decays geometrically, so the rule certifies K well below T
# (T = 26 here) and the chosen K depends on δ — the case where "adaptive" is not simply full BPTT.
TASK = tasks.CopyTask(20, n_symbols=3, alphabet=4)
CFG = TrainConfig(cell="rnn", hidden_size=16, scale=0.7, batch_size=8, seed=0, scheme="adaptive", delta=0.1,
                  adapt_every=5, snapshot_every=0, spectrum_every=0, optimizer="adam", lr=0.01)


def cfg(**kw) -> TrainConfig:
    return TrainConfig(**{**CFG.__dict__, **kw})


def params_equal(a: Trainer, b: Trainer) -> bool:
    return all(np.array_equal(a.model.params[k], b.model.params[k]) for k in a.model.params)


def test_an_adaptive_update_is_tbptt_k_k_exactly():
    """With K estimated once (adapt_every beyond the run), every update equals a TBPTT(K, K) run's with the same
    seed, bit for bit: same batches (K's batches come from their own generator), same gradient, same weights."""
    adaptive = Trainer(TASK, cfg(adapt_every=1000))
    first = adaptive.step()
    K = first.K
    assert first.K_estimated and 1 < K < TASK.T, K            # a real truncation, not full BPTT
    fixed = Trainer(TASK, cfg(scheme="tbptt", k1=K, k2=K))
    recs = [first] + [adaptive.step() for _ in range(5)]
    for a, b in zip(recs, fixed.run(6)):
        assert (a.loss, a.grad_norm, a.grad_norm_clipped) == (b.loss, b.grad_norm, b.grad_norm_clipped)
        assert a.K == K and b.K is None
    assert params_equal(adaptive, fixed)
    # the control: TBPTT(K + 1, K + 1) is another gradient, so the comparison above can fail
    other = Trainer(TASK, cfg(scheme="tbptt", k1=K + 1, k2=K + 1))
    assert next(other.run(1)).grad_norm != first.grad_norm


def test_k_is_estimated_exactly_every_adapt_every_updates_from_the_model_as_it_is_then():
    tr = Trainer(TASK, cfg(adapt_every=5))
    recs = []
    for _ in range(23):
        model, rng = tr.model.copy(), np.random.default_rng()
        rng.bit_generator.state = tr.state.adapt_rng.bit_generator.state
        rec = tr.step()
        recs.append(rec)
        if rec.K_estimated:           # the K of this update is the rule's on the model before it, on a fresh batch
            assert rec.K == estimate_K(model, TASK, rng, delta=CFG.delta, batch_size=CFG.batch_size)
    assert [r.step for r in recs if r.K_estimated] == [1, 6, 11, 16, 21]
    for prev, r in zip(recs, recs[1:]):
        if not r.K_estimated:
            assert r.K == prev.K                                  # K holds between estimates
    assert len({r.K for r in recs}) > 1, "K moved as the network trained (else the schedule is not tested)"
    every = [r.step for r in Trainer(TASK, cfg(adapt_every=1)).run(4) if r.K_estimated]
    assert every == [1, 2, 3, 4]


def test_the_chosen_k_grows_as_delta_falls_on_a_fixed_model():
    model = Trainer(TASK, CFG).model
    deltas = (0.5, 0.2, 0.1, 0.05, 0.01)
    Ks = [estimate_K(model, TASK, np.random.default_rng(3), delta=d, batch_size=8) for d in deltas]
    assert Ks == sorted(Ks) and Ks[0] < Ks[-1] <= TASK.T, Ks
    assert len(set(Ks)) == len(Ks), f"each smaller δ needs a longer K here: {Ks}"


def test_save_load_resume_equals_an_uninterrupted_run_bit_for_bit():
    straight = Trainer(TASK, cfg(adapt_every=4))
    a = list(straight.run(30))
    first = Trainer(TASK, cfg(adapt_every=4))
    b = list(first.run(13))                        # between two estimates: K comes from the saved state
    data = first.state_bytes()
    header = json.loads(np.load(io.BytesIO(data))["__header__"].tobytes().decode())
    assert header["K"] == b[-1].K and header["adapt_rng"]["bit_generator"] == "PCG64"
    resumed = Trainer.from_state_bytes(TASK, data)
    assert resumed.state.K == b[-1].K and resumed.config == first.config
    b += list(resumed.run(17))
    assert [(r.loss, r.grad_norm, r.K, r.K_estimated) for r in a] == [(r.loss, r.grad_norm, r.K, r.K_estimated)
                                                                      for r in b]
    assert params_equal(straight, resumed)
    assert sum(r.K_estimated for r in b[13:]) == 4              # updates 17, 21, 25, 29


def test_a_state_saved_before_adaptive_truncation_still_loads():
    """States written before the fields existed: no delta / adapt_every in the config, no K / adapt_rng in the
    header. They load, their config is the same, and they resume exactly as the current format does."""
    fixed = cfg(scheme="tbptt", k1=4, k2=6, delta=TrainConfig.delta, adapt_every=TrainConfig.adapt_every)
    first = Trainer(TASK, fixed)
    list(first.run(3))
    arrays = dict(np.load(io.BytesIO(first.state_bytes())))
    header = json.loads(arrays["__header__"].tobytes().decode())
    for k in ("delta", "adapt_every"):
        header["config"].pop(k)
    header.pop("K"), header.pop("adapt_rng")
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    old = Trainer.from_state_bytes(TASK, buf.getvalue())
    assert old.config == fixed and old.state.K is None
    now = Trainer.from_state_bytes(TASK, first.state_bytes())
    assert [r.loss for r in old.run(3)] == [r.loss for r in now.run(3)]


@pytest.mark.parametrize("bad,words", [
    (dict(delta=0.0), "delta must be in \\(0.0, 1.0\\]"), (dict(delta=-0.1), "delta must be in"),
    (dict(delta=1.5), "delta must be ≤ 1.0"), (dict(delta=float("nan")), "delta must be finite"),
    (dict(delta="x"), "delta must be a number"), (dict(adapt_every=0), "adapt_every must be ≥ 1"),
    (dict(adapt_every=-3), "adapt_every must be ≥ 1"), (dict(adapt_every=2.5), "adapt_every must be a whole number"),
    (dict(adapt_every=True), "adapt_every must be a whole number"),
    (dict(mode="online"), "scheme 'adaptive' is for mode 'epochwise'"),
])
def test_bad_settings_say_what_is_wrong(bad, words):
    with pytest.raises(ValueError, match=words):
        cfg(**bad)


def test_tasks_whose_sequences_end_at_different_steps_are_refused():
    with pytest.raises(ValueError, match="sequences that all end at step T"):
        Trainer(tasks.ReberTask(), cfg())
    assert reach(tasks.ReberTask()) == {}
    assert reach(TASK) == {"T": 26, "link": 23} and reach(tasks.AddingTask(T=30)) == {"T": 30}


def test_reach_says_where_tbptt_k_k_links_a_symbol_to_its_recall():
    """explorer.training.reach's claims, against TBPTT(K, K)'s own mask: no symbol reachable for K ≤ lag + symbols,
    all of them from K ≥ T."""
    from explorer.truncation import TBPTT
    r = reach(TASK)
    n = TASK.n_symbols
    for K in range(1, TASK.T + 3):
        M = TBPTT(K, K).mask(TASK.T)
        linked = sum(M[r["link"] + i, i] for i in range(n))
        if K <= r["link"]:
            assert linked == 0, K
        if K >= r["T"]:
            assert linked == n, K


def test_the_summary_of_an_adaptive_run_names_its_k():
    recs = list(Trainer(TASK, cfg(adapt_every=3)).run(12))
    text = summarize(recs, cfg(adapt_every=3), TASK)
    ks = [r.K for r in recs]
    assert text.startswith("adaptive TBPTT(K, K), δ = 0.1, K estimated every 3 updates: ")
    assert f"K = {ks[-1]}" in text
    if min(ks) < max(ks):
        assert f"between {min(ks)} and {max(ks)}" in text


# ---- the K-over-updates chart ----------------------------------------------------------------------------------

def k_chart(n=40):
    adaptive = Trainer(TASK, cfg(adapt_every=4))
    h_adaptive = tf.history(list(adaptive.run(n)))
    h_fixed = tf.history([r for r in Trainer(TASK, cfg(scheme="tbptt", k1=10, k2=10)).run(n)]).assign(K=10.0)
    refs = {"T = 26 (full BPTT)": 26, "lag + symbols + 1 = 24": 24}
    fig, df = tf.k_over_updates({"adaptive": h_adaptive, "TBPTT(10, 10)": h_fixed}, refs=refs)
    return fig, df, h_adaptive, refs


def step_function(df, run, n):
    """K at every update 1 … n, read back from the chart's rows (K holds from a row to the next)."""
    d = df[df["run"] == run].sort_values("update")
    idx = np.searchsorted(d["update"].to_numpy(), np.arange(1, n + 1), side="right") - 1
    return d["K"].to_numpy()[idx]


def test_the_k_chart_draws_the_k_of_every_update_and_is_a_valid_figure():
    fig, df, h, _ = k_chart()
    go.Figure(fig)                                             # every property validated
    assert list(df.columns) == ["run", "update", "K", "estimated"]
    np.testing.assert_array_equal(step_function(df, "adaptive", 40), h["K"].to_numpy())
    np.testing.assert_array_equal(step_function(df, "TBPTT(10, 10)", 40), np.full(40, 10))
    est = df[(df["run"] == "adaptive") & df["estimated"]]["update"].tolist()
    assert est == h["step"][h["K_estimated"]].tolist() == [1, 5, 9, 13, 17, 21, 25, 29, 33, 37]
    lines = [t for t in fig["data"] if t["mode"] == "lines"]
    assert all(t["line"]["shape"] == "hv" for t in lines), "K holds until the next row: a step line"
    assert not [k for t in fig["data"] for k in t if "_" in k], "plotly.js takes no magic underscores (line_shape)"
    assert [t["x"].tolist() for t in lines] == [df[df["run"] == r]["update"].tolist() for r in ("adaptive",
                                                                                               "TBPTT(10, 10)")]
    # legend entries differ by dash or marker shape, not by colour alone; axes say what and in which unit
    looks = [(t.get("line", {}).get("dash"), t.get("marker", {}).get("symbol")) for t in fig["data"]]
    assert len(set(looks)) == len(looks), looks
    lay = fig["layout"]
    assert lay["xaxis"]["title"]["text"] == "update" and "steps" in lay["yaxis"]["title"]["text"]
    assert lay["template"]["layout"]["font"]["size"] >= 17
    assert {a["text"] for a in lay["annotations"]} == {"T = 26 (full BPTT)", "lag + symbols + 1 = 24"}


@pytest.mark.parametrize("projector", [False, True])
def test_the_k_chart_passes_the_checks_every_training_chart_does(projector):
    """tests/test_figures.py's checks of the lab's charts, on the K chart with six runs (every dash and marker)."""
    import plotly.io as pio
    from test_figures import assert_explicit_colour_scales, assert_told_apart_without_colour, axis_titles
    h = tf.history(list(Trainer(TASK, cfg(adapt_every=2)).run(6)))
    runs = {f"run {i}": h.assign(K=h["K"] + i) for i in range(len(tf.K_DASHES))}
    f, data = tf.k_over_updates(runs, refs={"T": 26}, projector=projector)
    assert_explicit_colour_scales(f)
    assert_told_apart_without_colour(f, "K over updates")
    fig = go.Figure(f)
    assert axis_titles(fig) == ("update", "K (steps backpropagated)")
    assert fig.layout.template.layout.font.size == (21 if projector else 17)
    assert set(data["run"]) == set(runs) and data.groupby("run").size().min() >= 4     # first, last, estimates
    json.loads(pio.to_json(fig))


def test_the_k_chart_sentence_is_true_of_its_data():
    _, df, h, refs = k_chart()
    text = summaries.k_over_updates(df, refs)
    ks = h["K"].to_numpy(int)
    m = re.search(r"adaptive: K = (\d+) at update 1, (\d+) at update 40 \(between (\d+) and (\d+)\), "
                  r"(\d+) estimates drawn", text)
    assert m, text
    assert [int(g) for g in m.groups()] == [ks[0], ks[-1], ks.min(), ks.max(), 10]
    assert "TBPTT(10, 10): K = 10 at every update 1–40" in text
    for label, v in refs.items():                      # the shares, from the records themselves
        want = f"adaptive {100 * np.mean(ks >= v):.0f}%, TBPTT(10, 10) 0%"
        assert f"Updates with K ≥ {label}: {want}." in text, text
    assert summaries.k_over_updates(df.iloc[:0], refs) == "No update has run yet."


def test_a_long_history_is_thinned_to_its_changes_and_at_most_max_points_estimates():
    n = 3 * tf.MAX_POINTS
    k = np.repeat(np.arange(1, 31), n // 30).astype(float)            # K changes 29 times, estimated every update
    h = {"a": pd_frame(np.arange(1, n + 1), k, np.ones(n, bool))}
    fig, df = tf.k_over_updates(h)
    assert df["estimated"].sum() <= tf.MAX_POINTS and len(df) <= tf.MAX_POINTS + 31
    np.testing.assert_array_equal(step_function(df, "a", n), k)       # the line is still exact at every update


def pd_frame(step, K, est):
    import pandas as pd
    return pd.DataFrame({"step": step, "K": K, "K_estimated": est})


# ---- the race: adaptive (δ) against fixed K on the copy task ------------------------------------------------

def test_the_race_adaptive_learns_the_copy_task_and_k_shorter_than_the_lag_does_not():
    """The lab race's own contenders (ui.race.k_race_configs) at the preset's settings (and the page's defaults:
    δ = 0.1, N = 10, 500 updates), as its story says: TBPTT(10, 10) cannot link an output to its symbol
    (10 ≤ lag + symbols) and stays on the baseline; adaptive (δ = 0.1) learns the task, as TBPTT(25, 25) (≥ T: full
    BPTT) does — its K never drops below T here (the last loss's gradient does not decay geometrically)."""
    from ui import params
    from ui.presets import BY_SLUG
    from ui.race import Race, k_histories, k_race_configs, k_race_task, race_summary
    from ui.training_lab import k_refs
    p = BY_SLUG["adaptive-vs-fixed-k"].params
    P = params.by_key(params.LAB_ADAPTIVE + params.K_RACE)
    task = k_race_task(p["kr_lag"])
    configs = k_race_configs(Scenario(hidden=32, seed=0), task, delta=P["delta"].default,
                             adapt_every=P["adapt_every"].default, ks=(p["kr_short"], p["kr_long"]))
    assert list(configs) == ["adaptive (δ = 0.1)", "TBPTT(10, 10)", "TBPTT(25, 25)"]
    race = Race("k", {n: Trainer(task, c) for n, c in configs.items()}, budget=P["kr_n"].default)
    while race.step():
        pass
    tail = {n: float(np.mean(v[-50:])) for n, v in race.losses.items()}
    base = task.baseline
    assert tail["adaptive (δ = 0.1)"] < 0.3 * base and tail["TBPTT(25, 25)"] < 0.3 * base, tail
    assert 0.95 * base < tail["TBPTT(10, 10)"] < 1.05 * base, tail
    assert race_summary(race).startswith("After 500 updates, **")
    h = k_histories(race)
    assert h["TBPTT(10, 10)"]["K"].eq(10).all() and not h["TBPTT(10, 10)"]["K_estimated"].any()
    assert h["adaptive (δ = 0.1)"]["K_estimated"].sum() == 50
    _, df = tf.k_over_updates(h, refs=k_refs(task))
    assert "Updates with K ≥ T = 21 (full BPTT): adaptive (δ = 0.1) 100%, TBPTT(10, 10) 0%, TBPTT(25, 25) 100%." in \
        summaries.k_over_updates(df, k_refs(task))
