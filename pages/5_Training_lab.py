"""Lab: train a recurrent network live — play, pause, step, reset — and watch the gradient while it learns."""
import numpy as np
import streamlit as st

from explorer.figures import architecture_figs as af
from explorer.figures import summaries
from explorer.figures import training_figs as tf
from explorer.sampling import activations_over_text, sample
from explorer.training import summarize
from ui import live, params, url_state
from ui import race as kr
from ui import training_lab as tl
from ui.blocks import chart, lesson
from ui.plain_text import plain

CHART_EVERY = 1.0          # seconds between chart redraws while training (the status line is faster)

with lesson(__file__, "Train the network of the sidebar (cell, H, layers, initialisation, truncation scheme) on a "
            "task with a known baseline, and watch what the gradient does while it learns. The heatmap of "
            "‖δ_t‖ over (timestep × update) shows *where in the sequence* the gradient lives at every stage of "
            "training — with truncation or a vanishing gradient, the early steps stay dark, and the task's "
            "long-range part is never learned.") as sc:
    proj = url_state.projector()
    P = params.by_key(params.LAB)
    st.markdown("## Train it: task, optimiser, truncation")
    c1, c2, c3, c4 = st.columns(4)
    v = {k: url_state.widget(P[k], c) for k, c in (("task", c1), ("size", c1), ("opt", c2), ("lr", c2), ("clip", c3))}
    v["theta"] = url_state.widget(P["theta"], c3, disabled=v["clip"] == "off")
    v["B"] = url_state.widget(P["B"], c4)
    corpus, corpus_id = (tl.corpus_choice(url_state.widget(P["corpus"], c4), c4) if v["task"] == "text"
                         else (None, None))
    A = params.by_key(params.LAB_ADAPTIVE)
    a1, a2, a3 = st.columns(3)
    v.update({k: url_state.widget(A[k], c) for k, c in (("lab_scheme", a1), ("delta", a2), ("adapt_every", a3))})
    spec = tl.LabTask(v["task"], v["size"], corpus_id)
    task = spec.build(corpus)
    if v["lab_scheme"] == "adaptive" and not tl.adaptive_fits(task):
        st.info("Adaptive truncation estimates K from the loss at the sequence's last step, which every sequence "
                "must reach; the Reber strings end at different steps, so the lab uses the sidebar's truncation.",
                icon=":material/info:")
        v["lab_scheme"] = "sidebar_scheme"
    cfg = tl.lab_config(sc, v, task)
    T_task = tl.sequence_length(task)
    if cfg.batch_size < v["B"]:
        st.info(tl.batch_notice(sc, T_task, v["B"], cfg.batch_size, cfg.scheme == "adaptive"), icon=":material/timer:")
    lab = tl.lab_state(tl.run_key(spec, cfg), task, cfg)
    stacked = sc.layers > 1
    layers = f"L = {sc.layers} stacked layers, " if stacked else ""
    lab.size = f"{sc.cell.upper()}, {layers}H = {sc.hidden}, B = {cfg.batch_size}, T = {T_task}"
    st.caption(f"**Task:** {plain(task.describe(), 400)} · **network:** {sc.cell.upper()} (φ = {sc.activation}), "
               f"{layers}H = {sc.hidden}, {sc.init} init scaled to {params.LABELS[sc.scale_kind].split()[0]} = "
               f"{sc.scale:g}{' in every layer' if stacked else ''} · **gradient:** {cfg.label()}"
               f"{' through every layer' if stacked else ''} · the sidebar's T is not used here (the task sets it).")
    tl.controls(lab)

    def outcome(lab_):
        """Once paused or stopped: one sentence on the run, or where it blew up."""
        if not lab_.playing and lab_.records:
            if lab_.records[-1].finite:
                st.success(summarize(lab_.records, lab_.trainer.config, lab_.trainer.task), icon=":material/flag:")
            else:
                st.error(lab_.records[-1].message, icon=":material/warning:")

    def charts(lab_):
        if not lab_.records:
            return
        top = lab_.trainer.config.num_layers > 1        # a stack: ‖δ_t‖, ρ and σ₁ are its top layer's
        df = tf.history(lab_.records)
        a, b = st.columns(2, gap="large")
        fig, d = tf.loss_curve(df, projector=proj)
        chart(fig, d, key="lab_loss", where=a, title="Loss", latex=r"L = \frac{1}{\#\text{supervised}}\sum_t "
              r"m_t\,\ell_t", notice="below the dashed baseline the network uses its memory; stuck on it, it "
                                     "has learned only what needs no memory.",
              summary=summaries.lines(d, "step", {"loss": "the loss"}, "update"))
        fig, d = tf.grad_norms(df, clip=lab_.trainer.config.clip, threshold=lab_.trainer.config.clip_threshold,
                               projector=proj)
        chart(fig, d, key="lab_grad", where=b, title="Gradient norm, before and after clipping",
              latex=r"g \leftarrow g\cdot\min\!\big(1, \theta/\|g\|\big)",
              notice="spikes are the cliffs of the error surface; clipping caps the step, not the direction.",
              summary=summaries.lines(d, "step", {"grad_norm": "‖g‖ before clipping"}, "update")
              + (f" {int(d['clipped'].sum())} of the {len(d)} drawn updates were clipped." if len(d) else ""))
        c, d_ = st.columns(2, gap="large")
        snaps = [(r.step, r.delta_norms) for r in lab_.records if r.delta_norms is not None]
        if snaps:
            fig, d = tf.delta_over_training(np.array([s for s, _ in snaps]), [n for _, n in snaps],
                                            projector=proj)
            chart(fig, d, key="lab_delta", where=c, title="‖δ_t‖ over training (timestep × update)"
                  + (" — top layer" if top else ""),
                  latex=(r"\|\delta_t\| = \|\partial L/\partial h_t^{(L-1)}\|" if top else
                         r"\|\delta_t\| = \|\partial L/\partial h_t\|") + r" \text{ at every update}",
                  notice="each column is one update's backward pass: dark at small t means the early steps get "
                         "no gradient — whatever they should store is never learned.",
                  summary=summaries.heatmap_over_updates(d))
        fig, d = tf.spectrum_over_training(df, projector=proj)
        chart(fig, d, key="lab_spec", where=d_, title="ρ and σ₁ of the "
              + ("top layer's recurrent matrix" if top else "recurrent matrix"),
              latex=r"\rho = \max_i |\lambda_i(W_{hh})|,\quad \sigma_1 = \|W_{hh}\|_2",
              notice="learning long memories pushes ρ towards 1 from below; past it, gradients can explode.",
              summary=summaries.lines(d, "step", {"rho": "ρ", "sigma1": "σ₁"}, "update"))
        if lab_.trainer.config.scheme == "adaptive":
            refs = tl.k_refs(lab_.trainer.task)
            fig, d = tf.k_over_updates({"K in force": df}, refs=refs, projector=proj)
            chart(fig, d, key="lab_k", title="Truncation length K over updates",
                  latex=r"K = \min\{K : \mathrm{bound}(K)/L < \delta\}\ \text{(else } T\text{)},\quad "
                        r"\mathrm{bound}(K) = \frac{\varphi_\tau\,\beta^{K-\tau}}{1-\beta}",
                  notice="the open markers are the updates where K was estimated again from the network as it was "
                         "then. At K = T no shorter K met δ (none can when the gradient does not decay "
                         "geometrically), and the update is full BPTT.",
                  summary=summaries.k_over_updates(d, refs))

    # Two timers: training and its status line every live.TICK_S, the four charts every CHART_EVERY s — redrawing
    # four Plotly charts 2–3 times a second kept the browser ~80% busy, and every other control waited behind it.
    live.fragment("lab", after=outcome)
    live.timer("lab", charts, every=CHART_EVERY, what="charts")

    st.divider()
    # The download callables run after this script run, outside its ScriptRunContext, where st.session_state
    # cannot be read (streamlit/streamlit#13409): they close over the Lab object itself, whose records the live
    # fragment keeps appending to, so a click saves the run as it is at that moment.
    d1, d2 = st.columns(2)
    d1.download_button("⬇ training history (CSV)", lambda lab=lab: tl.history_csv(lab),
                       file_name="training_history.csv", mime="text/csv", on_click="ignore",
                       disabled=not lab.records, key="lab_history_csv")
    d2.download_button("⬇ trained model (.npz)", lambda lab=lab: tl.trained_model_npz(lab, spec.name),
                       file_name="bptt_explorer_model.npz", mime="application/octet-stream", on_click="ignore",
                       disabled=not lab.records, key="lab_model_npz")
    with st.expander("Start from saved weights (.npz or .safetensors)", icon=":material/upload:"):
        tl.start_from_file(lab, task, cfg)

    if spec.name == "text" and lab.records:
        deep = lab.trainer.model.num_layers
        st.markdown("### What the network writes, and what one unit" + (" of the top layer" if deep > 1 else "")
                    + " tracks")
        e1, e2 = st.columns([1, 3])
        temp = e1.slider("Temperature", 0.1, 2.0, 0.8, 0.1, key="lab_temp",
                         help="divides the logits: low = safe and repetitive, high = adventurous")
        unit = e1.number_input("Hidden unit", 0, sc.hidden - 1, 0, key="lab_unit")
        s = sample(lab.trainer.model, task.corpus.vocab, 300, temperature=temp, seed=len(lab.records))
        e2.code(s.text, language=None, wrap_lines=True)
        text = task.corpus.text[:400]
        h = activations_over_text(lab.trainer.model, task.corpus.vocab, text)     # the top layer's h_t
        e2.html(tf.text_activations(text, h[:, int(unit)]))
        e2.caption("**What to notice:** the background is unit h_i" + (" of the top layer" if deep > 1 else "")
                   + " after reading each character (red > 0, blue < 0): some units switch on inside brackets or "
                   "quotes, or count position in a line.")

    st.divider()
    st.markdown("## Race: adaptive K against fixed K on the copy task")
    st.markdown(kr.k_race_rules() + f" The adaptive contender uses the δ ({v['delta']:g}) and the N "
                f"({v['adapt_every']}) set above.")
    R = params.by_key(params.K_RACE)
    r1, r2, r3, r4 = st.columns(4)
    rv = {k: url_state.widget(R[k], c) for k, c in (("kr_lag", r1), ("kr_short", r2), ("kr_long", r3), ("kr_n", r4))}
    krace = kr.k_race_state(sc, rv["kr_lag"], (rv["kr_short"], rv["kr_long"]), rv["kr_n"], delta=v["delta"],
                            adapt_every=v["adapt_every"])
    st.caption(f"**Task:** {plain(krace.task.describe(), 400)} · LSTM, H = {sc.hidden}, batch size "
               f"{krace.batch_size}" + (f" · one layer: the race keeps its own network, not the sidebar's "
                                        f"L = {sc.layers}." if stacked else "."))
    live.controls("krace", krace, play_label="▶ start the race" if not krace.done else "▶ continue",
                  pause_label="❚❚ hold", reset_label="↺ new race")

    def krace_charts(race_):
        if not race_.done:
            return
        fig, d = af.race_curves(race_.losses, race_.baseline, smooth=kr.SMOOTH, projector=proj)
        chart(fig, d, key="krace_loss", title="Loss during the race",
              latex=r"\text{same task, network, optimizer and batches; only the truncation differs}",
              notice="under the dashed baseline a contender has learned to copy across the lag; on it, its "
                     "gradient never linked an output to the symbol it must repeat.",
              summary=summaries.lines(d, "update", {c: c for c in d.columns if c != "update"}))
        refs = tl.k_refs(race_.task)
        fig, d = tf.k_over_updates(kr.k_histories(race_), refs=refs, projector=proj)
        chart(fig, d, key="krace_k", title="Truncation length K over updates in the race",
              latex=r"\text{adaptive: } K = \min\{K : \mathrm{bound}(K)/L < \delta\};\quad \text{fixed: TBPTT}(K, K)",
              notice="below the lag + symbols + 1 line no backward window holds a symbol and its recall; from T on "
                     "TBPTT(K, K) is full BPTT.", summary=summaries.k_over_updates(d, refs))
        if race_.finished:
            st.success(kr.race_summary(race_), icon=":material/flag:")

    live.fragment("krace", after=krace_charts)
