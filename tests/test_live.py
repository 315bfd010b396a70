"""ui.live, the machinery of a run that trains on a fragment's timer (the lab's and the race's): the time-boxed loop
stops at its budget, on a pause, at the run's end and when the server's update slots are busy; the buttons change
the play state and reset; an error in a step or in the fragment becomes a message. Then the two runs' settings:
the lab's TrainConfig and the race's, each written once."""
import time
from dataclasses import fields

import pytest
from streamlit.testing.v1 import AppTest

from explorer import tasks
from explorer.architectures import contenders
from explorer.scenario import Scenario
from explorer.training import TrainConfig
from ui import live


class Run(live.LiveRun):
    """A run whose updates take `dt` seconds; after `pause_after` updates a pause lands, after `end` it is over."""

    def __init__(self, dt=0.0, pause_after=None, end=None):
        self.playing, self.n, self.dt, self.pause_after, self.end, self.betweens = True, 0, dt, pause_after, end, 0

    @property
    def over(self):
        return self.end is not None and self.n >= self.end

    def step(self):
        if self.over:
            return False
        time.sleep(self.dt)
        self.n += 1
        if self.pause_after is not None and self.n >= self.pause_after:
            self.playing = False
        return True

    def between(self):
        self.betweens += 1

    def status(self):
        return f"update {self.n}"


class Status:
    def __init__(self):
        self.lines = []

    def markdown(self, s):
        self.lines.append(s)


def test_the_time_box_ends_at_its_budget():
    run, status = Run(dt=0.01), Status()
    t0 = time.perf_counter()
    live.advance_for(run, seconds=0.1, status=status)
    took = time.perf_counter() - t0
    assert 0.1 <= took < 0.1 + 0.05, took                       # the budget, plus at most the update under way
    assert 5 <= run.n <= 11 and run.playing                     # still playing: the next tick goes on
    assert status.lines == [f"update {i}" for i in range(1, run.n + 1)]       # one status line per update
    assert run.betweens == run.n


def test_a_pause_stops_the_time_box_after_the_update_under_way():
    run = Run(pause_after=3)
    live.advance_for(run, seconds=10.0)
    assert run.n == 3 and not run.playing


def test_a_run_with_nothing_left_to_do_stops_playing():
    run, status = Run(end=4), Status()
    live.advance_for(run, seconds=10.0, status=status)
    assert run.n == 4 and not run.playing
    assert status.lines == ["update 1", "update 2", "update 3", "update 4"]
    run.playing = True
    live.advance_for(run, seconds=10.0)
    assert run.n == 4 and not run.playing


def test_busy_update_slots_end_the_time_box_and_say_so():
    run, status = Run(), Status()
    with live.update_slot(0.01) as a, live.update_slot(0.01) as b:            # other sessions hold both slots
        assert a and b
        t0 = time.perf_counter()
        live.advance_for(run, seconds=10.0, status=status)
        took = time.perf_counter() - t0
    assert run.n == 0 and run.playing                           # the next tick tries again
    assert status.lines == ["update 0" + live.BUSY]
    assert took < live.SLOT_WAIT_S + 0.5


# ── in a Streamlit run: buttons, the fragment, errors as messages ──

def live_page(mode: str):
    """A page with one live run under "demo": `mode` says what its steps do ("ok", "raise") and what the fragment
    draws after the status line ("raise" there too)."""
    import streamlit as st

    from ui import live

    class Demo(live.LiveRun):
        def __init__(self):
            self.playing, self.n, self.stepped = False, 0, 0

        @property
        def over(self):
            return self.n >= 5

        def step(self):
            self.n += 1
            return True

        def status(self):
            return f"**demo** · update {self.n}"

    def click_step():
        if mode == "raise":
            raise RuntimeError("boom")
        run.n += 1

    def after(run_):
        if mode == "raise":
            raise ValueError("no chart")
        st.caption(f"after {run_.n}")

    run = st.session_state.setdefault("demo", Demo())
    live.controls("demo", run, play_label="▶ go", on_step=click_step)
    live.fragment("demo", after=after)


def open_live(mode="ok"):
    return AppTest.from_function(live_page, args=(mode,), default_timeout=30).run()


def button(at, label):
    return next(b for b in at.button if b.label == label)


def test_the_buttons_play_pause_step_and_reset():
    at = open_live()
    assert not at.exception and not at.error
    assert [b.label for b in at.button] == ["▶ go", "❚❚ pause", "▶| step", "↺ reset"]
    assert not button(at, "▶ go").disabled and button(at, "❚❚ pause").disabled
    assert at.markdown[0].value == "**demo** · update 0" and at.caption[0].value == "after 0"
    button(at, "▶ go").click().run()
    run = at.session_state["demo"]
    assert run.playing and button(at, "▶ go").disabled and not button(at, "❚❚ pause").disabled
    assert run.n == 0, "a full rerun only draws: the fragment's timer trains"
    button(at, "▶| step").click().run()
    assert not run.playing and run.n == 1                       # a step pauses, then makes one update
    assert at.markdown[0].value == "**demo** · update 1"
    button(at, "▶ go").click().run()
    button(at, "❚❚ pause").click().run()
    assert not run.playing
    for _ in range(4):
        button(at, "▶| step").click().run()
    assert run.over and button(at, "▶ go").disabled and button(at, "▶| step").disabled
    button(at, "↺ reset").click().run()
    assert at.session_state["demo"] is not run and at.session_state["demo"].n == 0


def test_an_error_in_a_step_or_in_the_fragment_becomes_a_message():
    at = open_live("raise")
    assert not at.exception
    assert [e.value for e in at.error] == ["The demo stopped on an error (ValueError: no chart). Press ↺ reset."]
    assert at.markdown[0].value == "**demo** · update 0"        # the status line is drawn before it
    button(at, "▶| step").click().run()
    assert not at.exception
    assert at.error[0].value == "That update failed (RuntimeError: boom). Press ↺ reset."
    button(at, "↺ reset").click().run()                          # said once
    assert [e.value for e in at.error] == ["The demo stopped on an error (ValueError: no chart). Press ↺ reset."]


def test_a_failed_steps_message_moves_nothing_below_it():
    # A fragment's timer run that was queued before a full run is applied at the place the fragment had: the
    # step's message must take a place that is there (empty) without it, or it would shift the fragment down.
    at = open_live("raise")
    before = list(at.main.children)
    button(at, "▶| step").click().run()
    assert at.error[0].value == "That update failed (RuntimeError: boom). Press ↺ reset."
    assert list(at.main.children) == before


def test_a_page_without_a_step_has_no_step_button():
    def page():
        from ui import live

        class Idle(live.LiveRun):
            over = False
        live.controls("idle", Idle())
    at = AppTest.from_function(page).run()
    assert not at.exception
    assert [b.label for b in at.button] == ["▶ play", "❚❚ pause", "↺ reset"]


# ── the runs' settings, each written once ──

def test_the_lab_takes_every_sidebar_setting_a_trainconfig_has():
    from ui.training_lab import NOT_USED, RENAMED, SAME_NAME
    train = {f.name for f in fields(TrainConfig)}
    assert set(SAME_NAME) | set(RENAMED) | set(NOT_USED) == {f.name for f in fields(Scenario)}
    assert set(RENAMED.values()) <= train and not set(NOT_USED) & train


@pytest.mark.parametrize("sc", [Scenario(), Scenario(cell="gru", hidden=64, init="identity", scale_kind="sigma1",
                                                     scale=1.3, seed=7, scheme="tbptt", k1=5, k2=12, T=40),
                                Scenario(cell="indrnn", activation="relu", scheme="randomized", keep_prob=0.3)])
def test_lab_config_is_the_sidebars_network_and_the_labs_optimizer(sc):
    from ui.training_lab import LabTask, lab_config, run_key
    lab = {"task": "copy", "size": 15, "opt": "rmsprop", "lr": "0.003", "clip": "value", "theta": 2.5, "B": 16}
    spec = LabTask("copy", 15)
    task = spec.build()
    want = TrainConfig(cell=sc.cell, hidden_size=sc.hidden, activation=sc.activation, init=sc.init, scale=sc.scale,
                       scale_kind=sc.scale_kind, optimizer="rmsprop", lr=0.003, clip="value", clip_threshold=2.5,
                       scheme=sc.scheme, k1=sc.k1, k2=sc.k2, keep_prob=sc.keep_prob, batch_size=16, seed=sc.seed,
                       snapshot_every=1)
    assert lab_config(sc, lab, task) == want
    assert run_key(spec, want) == ("copy", 15, None, want)          # the key a kept run is stored under


def test_the_labs_adaptive_truncation_replaces_the_sidebars_scheme_and_keeps_the_rest():
    from ui.training_lab import LabTask, lab_config
    sc = Scenario(cell="gru", hidden=24, scheme="tbptt", k1=5, k2=12, T=40, seed=4)
    lab = {"task": "copy", "size": 15, "opt": "adam", "lr": "0.01", "clip": "norm", "theta": 1.0, "B": 16}
    task = LabTask("copy", 15).build()
    sidebar = lab_config(sc, {**lab, "lab_scheme": "sidebar_scheme", "delta": 0.05, "adapt_every": 3}, task)
    assert sidebar == lab_config(sc, lab, task) and sidebar.scheme == "tbptt"   # δ and N do not touch it
    adaptive = lab_config(sc, {**lab, "lab_scheme": "adaptive", "delta": 0.05, "adapt_every": 3}, task)
    assert adaptive == TrainConfig(**{**sidebar.__dict__, "scheme": "adaptive", "delta": 0.05, "adapt_every": 3})
    # an update that estimates K costs more (ui.training_lab.ESTIMATE_*): where the budget binds, the batch is smaller
    from explorer import work_budget as wb
    from ui.training_lab import ESTIMATE_MEMORY, ESTIMATE_TIME, UPDATE_MEMORY, UPDATE_WORK, batch_size
    big = Scenario(cell="lstm", hidden=256)
    long_task = LabTask("copy", 200).build()
    B_plain = lab_config(big, {**lab, "B": 128}, long_task).batch_size
    B_adaptive = lab_config(big, {**lab, "B": 128, "lab_scheme": "adaptive", "delta": 0.1, "adapt_every": 10},
                            long_task).batch_size
    T, D = long_task.T, long_task.input_size
    assert B_plain == wb.batch_limit("lstm", 256, D, T, memory=UPDATE_MEMORY, work=UPDATE_WORK) < 128
    assert B_adaptive == wb.batch_limit("lstm", 256, D, T, memory=UPDATE_MEMORY / ESTIMATE_MEMORY,
                                        work=UPDATE_WORK / ESTIMATE_TIME) < B_plain
    assert batch_size("lstm", 256, D, T, 4, adaptive=True) == 4           # below the budget: as asked


def test_the_truncation_race_is_configured_once_and_says_so():
    from ui.race import K_RACE_CONFIG, k_race_configs, k_race_rules, k_race_task
    assert k_race_rules() == ("Every contender is an LSTM (the sidebar's H and seed, input weights × 0.01) trained "
                              "with Adam (learning rate 0.02), global-norm clipping at 1 and the same batches, for the "
                              "same number of updates; only the truncation differs. The curves are running means of "
                              "20 updates.")
    task = k_race_task(12)
    assert (task.lag, task.n_symbols, task.alphabet) == (12, 3, 4)
    got = k_race_configs(Scenario(hidden=16, seed=3), task, delta=0.2, adapt_every=7, ks=(30, 4, 30))
    assert list(got) == ["adaptive (δ = 0.2)", "TBPTT(4, 4)", "TBPTT(30, 30)"]   # a repeated K races once
    base = TrainConfig(**{**K_RACE_CONFIG.__dict__, "hidden_size": 16, "seed": 3})
    assert got["adaptive (δ = 0.2)"] == TrainConfig(**{**base.__dict__, "scheme": "adaptive", "delta": 0.2,
                                                       "adapt_every": 7})
    assert got["TBPTT(4, 4)"] == TrainConfig(**{**base.__dict__, "scheme": "tbptt", "k1": 4, "k2": 4})


def test_the_race_is_configured_once_and_says_so():
    from ui.race import RACE_CONFIG, race_configs, race_rules, race_task
    assert race_rules() == ("Every contender is trained with Adam (learning rate 0.01), global-norm clipping at 1, "
                            "the same batches and full BPTT, for the same number of updates; the curves are running "
                            "means of 20 updates.")
    sc = Scenario(hidden=16, seed=3, scale=1.1)
    task = race_task("adding", 30)
    got = race_configs(sc, task)
    assert list(got) == [c.name for c in contenders(1.1)]
    for c in contenders(1.1):                                   # what the page built by hand before
        assert got[c.name] == TrainConfig(hidden_size=16, optimizer="adam", lr=0.01, clip="norm", clip_threshold=1.0,
                                          batch_size=RACE_CONFIG.batch_size, seed=3, snapshot_every=0,
                                          spectrum_every=0, **c.train_kwargs())
    assert isinstance(race_task("copy", 30), tasks.CopyTask) and race_task("copy", 30).lag == 30
