"""A run that trains live on a fragment's timer while the page stays responsive: the training lab's
(ui.training_lab.Lab) and the architectures race's (ui.race.Race). Both are a `LiveRun` kept in the session
state under a key ("lab", "race"); this module draws their controls and runs their timer.

- `controls`: ▶ play, ❚❚ pause, ▶| step (when the page has one) and ↺ reset. Their callbacks run before the next
  script run, outside the page's error guard, so a failed step is kept as a message for that run.
- `fragment`: the training fragment. It writes the status line and, while playing, trains for a time box
  (`advance_for`) on its timer only: a full rerun only draws. When the run stops by itself it asks for a full
  rerun, which draws the page again without the timer.
- `timer`: a fragment that only draws, on its own (slower) timer while the run plays.
- `guarded`: fragments also run on their own timer, outside the page's error guard: errors become a message.
- `update_slot`: at most UPDATES_AT_ONCE training updates at once in this server process, over all sessions.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

import streamlit as st

log = logging.getLogger("bptt_explorer")
UPDATE_BUDGET_S = 0.15        # training time per timer run; a pause lands between two updates
TICK_S = 0.3                  # the training fragment's timer while playing
SLOT_WAIT_S = 0.05            # a timer run waits this long for an update slot (then the next tick tries again)
STEP_WAIT_S = 30.0            # a ▶| step click waits this long, then makes its update anyway
UPDATES_AT_ONCE = 2           # training updates running at once in this server process, over all sessions
BUSY = " · waiting for a free core (other sessions are training)"

# Process-wide, on purpose: 30 students pressing ▶ at the sliders' maxima would otherwise hold 30 updates of up to
# ui.training_lab.UPDATE_MEMORY each at once; on a 2-core machine more than two at once only queue for the cores.
_UPDATE_SLOTS = threading.BoundedSemaphore(UPDATES_AT_ONCE)


@contextlib.contextmanager
def update_slot(wait_s: float):
    """Hold one of the UPDATES_AT_ONCE slots for a training update; yields False (and holds none) when no slot
    came free within wait_s seconds."""
    got = _UPDATE_SLOTS.acquire(timeout=wait_s)
    try:
        yield got
    finally:
        if got:
            _UPDATE_SLOTS.release()


class LiveRun:
    """What this module drives. `playing` is set by the buttons and cleared when the run stops by itself."""
    playing: bool = False

    @property
    def over(self) -> bool:
        """Nothing more to train (stopped, or finished): ▶ play and ▶| step are disabled."""
        raise NotImplementedError

    def step(self) -> bool:
        """One update while playing (in an update slot); False, and nothing done, when there is none to make."""
        raise NotImplementedError

    def between(self) -> None:
        """After each update while playing, outside the update slot (the lab keeps its run on disk)."""

    def status(self) -> str:
        """The status line (markdown)."""
        raise NotImplementedError


def advance_for(run: LiveRun, seconds: float = UPDATE_BUDGET_S, status=None) -> None:
    """Update `run` for about `seconds`, one update slot at a time. Stops when the run is paused, when it has no
    update to make (then it is no longer playing), and when no slot came free within SLOT_WAIT_S (other sessions'
    updates hold the cores: the next tick tries again). After each update the status line is written (`status`: a
    Streamlit element, or None): a call into Streamlit between updates, where a click on pause interrupts this run
    (so the pause lands within one update)."""
    t0 = time.perf_counter()
    while run.playing and time.perf_counter() - t0 < seconds:
        with update_slot(SLOT_WAIT_S) as got:
            if not got:
                if status is not None:
                    status.markdown(run.status() + BUSY)
                return
            if not run.step():
                run.playing = False
                return
        if status is not None:
            status.markdown(run.status())
        run.between()


def error_text(e: Exception) -> str:
    return f"{type(e).__name__}: {str(e)[:200]}"


def controls(key: str, run: LiveRun, *, play_label: str = "▶ play", pause_label: str = "❚❚ pause",
             reset_label: str = "↺ reset", on_play: Callable[[], None] | None = None,
             on_pause: Callable[[], None] | None = None, on_step: Callable[[], None] | None = None) -> None:
    """The run's buttons in one row: ▶ play, ❚❚ pause, ▶| step (only with `on_step`, the click's one update) and
    ↺ reset (drops st.session_state[key]: the page makes a new run). on_play and on_pause follow the play state's
    change. A step that failed on the last click is said above them. Two runs on one page need labels that differ
    (a reader, and a browser test, finds a button by its label)."""
    ss = st.session_state

    def play():
        run.playing = True
        if on_play:
            on_play()

    def pause():
        run.playing = False
        if on_pause:
            on_pause()

    def step():
        run.playing = False
        if run.over:
            return
        try:                                       # callbacks run outside the page's error guard
            with update_slot(STEP_WAIT_S):         # (proceeds even if the server stays busy that long)
                on_step()
        except Exception as e:  # the user sees a message, the log keeps the traceback
            log.exception("%s: step", key)
            ss[key + "_error"] = f"That update failed ({error_text(e)}). Press ↺ reset."

    def reset():
        ss.pop(key, None)

    # One element here whether or not a step failed, so the fragments below keep their place in the page (a timer
    # run queued before a full run is applied at the place its fragment had: see ui/predict.py's student panel).
    error_slot = st.empty()
    if key + "_error" in ss:
        error_slot.error(ss.pop(key + "_error"), icon=":material/error:")
    buttons = [(play_label, play, dict(disabled=run.playing or bool(run.over), type="primary", key=f"{key}_play")),
               (pause_label, pause, dict(disabled=not run.playing, key=f"{key}_pause"))]
    if on_step is not None:
        buttons.append(("▶| step", step, dict(disabled=bool(run.over), key=f"{key}_step")))
    buttons.append((reset_label, reset, dict(key=f"{key}_reset")))      # keyed: two runs' rows can share a page
    for col, (label, callback, kw) in zip(st.columns([1] * len(buttons) + [7 - len(buttons)]), buttons):
        col.button(label, on_click=callback, width="stretch", **kw)


def guarded(body: Callable[[], None], key: str, what: str) -> Callable[[], None]:
    """body, with any error shown as a message (fragments also run on their own timer, outside the page's guard)."""
    def run():
        try:
            body()
        except Exception as e:  # the user sees a message, the log keeps the traceback
            log.exception("%s: %s", key, what)
            st.error(f"The {key} stopped on an error ({error_text(e)}). Press ↺ reset.", icon=":material/error:")
    return run


def timer(key: str, draw: Callable[[LiveRun], None], *, every: float, what: str) -> None:
    """A fragment that draws st.session_state[key] (when there is one), again every `every` seconds while it plays."""
    def body():
        run = st.session_state.get(key)
        if run is not None:
            draw(run)
    run = st.session_state.get(key)
    st.fragment(guarded(body, key, what), run_every=every if run is not None and run.playing else None)()


def fragment(key: str, after: Callable[[LiveRun], None] | None = None, every: float = TICK_S) -> None:
    """The training fragment of st.session_state[key]: its status line (one element, drawn at once and replaced
    in place: a slow update never leaves it blank), a time box of training on each timer run while it plays, and
    after(run) below it. When the run stops by itself, a full rerun draws the page (and this fragment) again without
    the timer."""
    ss = st.session_state
    full_run = key + "_full_run"

    def train(run: LiveRun):
        status = st.markdown(run.status())
        if run.playing and not ss.get(full_run):          # only timer runs train; a full rerun only draws
            advance_for(run, status=status)
            if not run.playing:
                st.rerun(scope="app")
        status.markdown(run.status())
        if after is not None:
            after(run)

    ss[full_run] = True
    timer(key, train, every=every, what="training")
    ss[full_run] = False
