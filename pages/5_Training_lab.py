"""Lab: train a recurrent network live — play, pause, step, reset — and watch the gradient while it learns."""
import logging
import time

import numpy as np
import streamlit as st

import explorer as ex
import ui  # noqa: F401
from explorer import tasks
from explorer import work_budget as wb
from explorer.figures import training_figs as tf
from explorer.training import TrainConfig, Trainer, summarize
from ui import params, url_state
from ui.blocks import chart, lesson
from ui.plain_text import plain
from ui.training_lab import (
    UPDATE_MEMORY,
    UPDATE_WORK,
    Lab,
    batch_size,
    history_csv,
    keep,
    reopen,
    status_line,
    train_some,
    trained_model_npz,
    trainer_from_file,
    update_slot,
)

log = logging.getLogger("bptt_explorer")
CHART_EVERY = 1.0          # seconds between chart redraws while training (the status line is faster)


def make_task(name: str, size: int, corpus):
    if name == "copy":
        return tasks.CopyTask(lag=size)
    if name == "text":
        return tasks.TextTask(corpus, T=max(size, 2))
    if name == "reber":
        return tasks.ReberTask(max_len=max(size, 20))
    return tasks.TASKS[name](T=size)


def corpus_choice(name: str):
    if name != "upload":
        return ex.tasks.builtin_corpus(name), name
    up = st.file_uploader("Your corpus: a UTF-8 text file (≤ 2 MB)", type=["txt", "md", "py", "csv"])
    if up is None:
        st.info("Upload a text file, or pick a built-in corpus; until then the lab uses python-docs.", icon="📄")
        return ex.tasks.builtin_corpus("python-docs"), "python-docs"
    try:
        return tasks.corpus_from_upload(up.getvalue(), up.name), f"upload:{up.name}:{up.size}"
    except tasks.CorpusError as e:
        st.error(plain(f"{e} The lab keeps using python-docs.", 600), icon="📄")
        return ex.tasks.builtin_corpus("python-docs"), "python-docs"


def lab_state(key, task, cfg) -> Lab:
    """This session's run; on its first visit, the run the link's `run=` names (a reload), if it is still kept."""
    ss = st.session_state
    lab = ss.get("lab")
    run_id = url_state.meta(params.RUN)
    first = not ss.get("lab_reopened")                  # only a session's first visit reads the link's run
    ss["lab_reopened"] = True
    if lab is None and run_id and first:
        lab, note = reopen(run_id, key, task)
        ss["lab_note"] = note
        if lab is not None:
            ss["cfg_run"] = lab.run_id                 # continued under its own new id
    if lab is None or lab.key != key:
        lab = Lab(key, Trainer(task, cfg))
        ss["cfg_run"] = ""                             # nothing kept yet: a reload has nothing to find
    ss["lab"] = lab
    return lab


with lesson(__file__, "Train the network of the sidebar (cell, H, initialisation, truncation scheme) on a "
            "task with a known baseline, and watch what the gradient does while it learns. The heatmap of "
            "‖δ_t‖ over (timestep × update) shows *where in the sequence* the gradient lives at every stage of "
            "training — with truncation or a vanishing gradient, the early steps stay dark, and the task's "
            "long-range part is never learned.") as sc:
    ss = st.session_state
    ss["lab_full_run"] = True
    proj = url_state.projector()
    P = params.by_key(params.LAB)
    c1, c2, c3, c4 = st.columns(4)
    task_name = url_state.widget(P["task"], c1)
    size = url_state.widget(P["size"], c1)
    opt = url_state.widget(P["opt"], c2)
    lr = float(url_state.widget(P["lr"], c2))
    clip = url_state.widget(P["clip"], c3)
    theta = url_state.widget(P["theta"], c3, disabled=clip == "off")
    B = url_state.widget(P["B"], c4)
    corpus, corpus_id = (None, None)
    if task_name == "text":
        with c4:
            corpus, corpus_id = corpus_choice(url_state.widget(P["corpus"], c4))
    task = make_task(task_name, size, corpus)
    T_task = getattr(task, "T", None) or getattr(task, "max_len", size)
    B_asked, B = B, batch_size(sc.cell, sc.hidden, task.input_size, T_task, B)
    if B < B_asked:
        need = wb.update_bytes(sc.cell, sc.hidden, T_task, B_asked) / 1e6
        st.info(f"Training with batch size **{B}**, not {B_asked}: one update of a {sc.cell.upper()} with H = "
                f"{sc.hidden} over T = {T_task} steps needs about {need:,.0f} MB at B = {B_asked}; the lab keeps "
                f"an update under {UPDATE_MEMORY / 1e6:.0f} MB and about "
                f"{wb.seconds(UPDATE_WORK):.1g} s so the server stays responsive for everyone.", icon="⏱️")
    cfg = TrainConfig(cell=sc.cell, hidden_size=sc.hidden, activation=sc.activation, init=sc.init,
                      scale=sc.scale, scale_kind=sc.scale_kind, optimizer=opt, lr=lr, clip=clip,
                      clip_threshold=theta, truncation=sc.scheme, k1=sc.k1, k2=sc.k2, keep_prob=sc.keep_prob,
                      batch_size=B, seed=sc.seed, snapshot_every=1 if T_task <= 200 else 5)
    lab = lab_state((task_name, size, corpus_id, cfg), task, cfg)
    lab.size = f"{sc.cell.upper()}, H = {sc.hidden}, B = {B}, T = {T_task}"
    st.caption(f"**Task:** {plain(task.describe(), 400)} · **network:** {sc.cell.upper()} (φ = {sc.activation}), "
               f"H = {sc.hidden}, {sc.init} init scaled to {params.LABELS[sc.scale_kind].split()[0]} = {sc.scale:g} · "
               f"**gradient:** {cfg.label()} · the sidebar's T is not used here (the task sets it).")

    def play():
        lab.playing, lab.started, lab.base_n = True, time.perf_counter(), len(lab.records)
        ss["cfg_run"] = lab.run_id                     # the address now names the run: a reload continues it
        keep(lab)

    def pause():
        lab.playing = False
        keep(lab)

    def step():
        lab.playing = False
        if not lab.trainer.state.stopped:
            try:                                   # callbacks run outside the page's error guard
                with update_slot(30.0):            # (proceeds even if the server stays busy that long)
                    lab.records.append(lab.trainer.step())
                ss["cfg_run"] = lab.run_id
                keep(lab)
            except Exception as e:  # noqa: BLE001
                log.exception("training lab step")
                ss["lab_error"] = f"That update failed ({type(e).__name__}: {str(e)[:200]}). Press ↺ reset."

    def reset():
        ss.pop("lab", None)

    if "lab_error" in ss:
        st.error(ss.pop("lab_error"), icon="⚠️")
    if "lab_note" in ss:
        st.info(ss.pop("lab_note"), icon="💾")
    b1, b2, b3, b4, _ = st.columns([1, 1, 1, 1, 3])
    b1.button("▶ play", on_click=play, disabled=lab.playing or bool(lab.trainer.state.stopped), type="primary",
              width="stretch")
    b2.button("❚❚ pause", on_click=pause, disabled=not lab.playing, width="stretch")
    b3.button("⏭ step", on_click=step, disabled=bool(lab.trainer.state.stopped), width="stretch")
    b4.button("↺ reset", on_click=reset, width="stretch")

    def guarded(body, what):
        """Fragments also run on their own timer, outside the page's error guard: errors become a message."""
        def run():
            try:
                body()
            except Exception as e:  # noqa: BLE001
                log.exception("training lab: %s", what)
                st.error(f"The lab stopped on an error ({type(e).__name__}: {str(e)[:200]}). Press ↺ reset.",
                         icon="⚠️")
        return run

    def _train():
        """Trains on its timer while playing (a full rerun only draws) and keeps the status line current."""
        lab_ = ss.get("lab")
        if lab_ is None:
            return
        # drawn at once, in one message (not st.empty() then text): a slow update never leaves the line blank
        status = st.markdown(status_line(lab_))
        if lab_.playing and not ss.get("lab_full_run"):
            train_some(lab_, status)
            if not lab_.playing:                                  # stopped by itself: re-register without timer
                st.rerun(scope="app")
        status.markdown(status_line(lab_))
        if not lab_.playing and lab_.records:
            if lab_.records[-1].finite:
                st.success(summarize(lab_.records, lab_.trainer.config, lab_.trainer.task), icon="🏁")
            else:
                st.error(lab_.records[-1].message, icon="💥")

    def _charts():
        lab_ = ss.get("lab")
        if lab_ is None or not lab_.records:
            return
        df = tf.history(lab_.records)
        a, b = st.columns(2, gap="large")
        fig, d = tf.loss_curve(df, projector=proj)
        chart(fig, d, key="lab_loss", where=a, title="Loss", latex=r"L = \frac{1}{\#\text{supervised}}\sum_t "
              r"m_t\,\ell_t", notice="below the dashed baseline the network uses its memory; stuck on it, it "
                                     "has learned only what needs no memory.")
        fig, d = tf.grad_norms(df, clip=lab_.trainer.config.clip, threshold=lab_.trainer.config.clip_threshold,
                               projector=proj)
        chart(fig, d, key="lab_grad", where=b, title="Gradient norm, before and after clipping",
              latex=r"g \leftarrow g\cdot\min\!\big(1, \theta/\|g\|\big)",
              notice="spikes are the cliffs of the error surface; clipping caps the step, not the direction.")
        c, d_ = st.columns(2, gap="large")
        snaps = [(r.step, r.delta_norms) for r in lab_.records if r.delta_norms is not None]
        if snaps:
            fig, d = tf.delta_over_training(np.array([s for s, _ in snaps]), [v for _, v in snaps],
                                            projector=proj)
            chart(fig, d, key="lab_delta", where=c, title="‖δ_t‖ over training (timestep × update)",
                  latex=r"\|\delta_t\| = \|\partial L/\partial h_t\| \text{ at every update}",
                  notice="each column is one update's backward pass: dark at small t means the early steps get "
                         "no gradient — whatever they should store is never learned.")
        fig, d = tf.spectrum_over_training(df, projector=proj)
        chart(fig, d, key="lab_spec", where=d_, title="ρ and σ₁ of the recurrent matrix",
              latex=r"\rho = \max_i |\lambda_i(W_{hh})|,\quad \sigma_1 = \|W_{hh}\|_2",
              notice="learning long memories pushes ρ towards 1 from below; past it, gradients can explode.")


    # Two timers: training and its status line every 0.3 s, the four charts every CHART_EVERY s — redrawing four
    # Plotly charts 2–3 times a second kept the browser ~80% busy, and every other control waited behind it.
    st.fragment(guarded(_train, "training"), run_every=0.3 if lab.playing else None)()
    st.fragment(guarded(_charts, "charts"), run_every=CHART_EVERY if lab.playing else None)()
    ss["lab_full_run"] = False

    st.divider()
    # The download callables run after this script run, outside its ScriptRunContext, where st.session_state
    # cannot be read (streamlit/streamlit#13409): they close over the Lab object itself, whose records the live
    # fragment keeps appending to, so a click saves the run as it is at that moment.
    d1, d2 = st.columns(2)
    d1.download_button("⬇ training history (CSV)", lambda lab=lab: history_csv(lab),
                       file_name="training_history.csv", mime="text/csv", on_click="ignore",
                       disabled=not lab.records, key="lab_history_csv")
    d2.download_button("⬇ trained model (.npz)", lambda lab=lab: trained_model_npz(lab, task_name),
                       file_name="bptt_explorer_model.npz", mime="application/octet-stream", on_click="ignore",
                       disabled=not lab.records, key="lab_model_npz")

    with st.expander("⬆ Start from saved weights (.npz or .safetensors)"):
        up = st.file_uploader("A model downloaded from this lab (.npz), or the weights of a PyTorch nn.RNN, nn.LSTM "
                              "or nn.GRU layer (its state_dict as .npz or .safetensors, ≤ 2 MB; a readout Linear "
                              "is used when it fits the task, else a fresh one is made). Training restarts from "
                              "those weights with the current settings.", type=["npz", "safetensors"],
                              key="lab_model_upload")
        if up is None:
            ss.pop("lab_model_from", None)             # no file, no message about an earlier one
        elif ss.get("lab_model_from", {}).get("file") != up.file_id:
            try:
                trainer, note = trainer_from_file(up.getvalue(), up.name, task, cfg)
            except ValueError as e:
                why = str(e).replace(f"“{up.name}” is", "it is", 1)       # the reader names the file too: once
                ss["lab_model_from"] = {"file": up.file_id, "key": lab.key, "ok": False,
                                        "text": f"“{up.name}” was not loaded — {why} The lab keeps its current run."}
            else:
                ss["lab"] = Lab(lab.key, trainer)
                ss["cfg_run"] = ""
                ss["lab_model_from"] = {"file": up.file_id, "key": lab.key, "ok": True,
                                        "text": f"“{up.name}”: {note}"}
                st.rerun()
        loaded = ss.get("lab_model_from")
        if loaded and not loaded["ok"]:
            st.error(plain(loaded["text"], 600), icon="📦")
        elif loaded and loaded["key"] == lab.key:
            st.caption(plain(loaded["text"], 600))

    if task_name == "text" and lab.records:
        from explorer.sampling import activations_over_text, sample
        st.markdown("#### What the network writes, and what one unit tracks")
        e1, e2 = st.columns([1, 3])
        temp = e1.slider("Temperature", 0.1, 2.0, 0.8, 0.1, key="lab_temp",
                         help="divides the logits: low = safe and repetitive, high = adventurous")
        unit = e1.number_input("Hidden unit", 0, sc.hidden - 1, 0, key="lab_unit")
        s = sample(lab.trainer.model, task.corpus.vocab, 300, temperature=temp, seed=len(lab.records))
        e2.code(s.text, language=None, wrap_lines=True)
        text = task.corpus.text[:400]
        h = activations_over_text(lab.trainer.model, task.corpus.vocab, text)
        e2.html(tf.text_activations(text, h[:, int(unit)]))
        e2.caption("**What to notice:** the background is unit h_i after reading each character (red > 0, "
                   "blue < 0): some units switch on inside brackets or quotes, or count position in a line.")
