"""Lesson 3: vanishing and exploding gradients."""
import streamlit as st

from explorer import work_budget as wb
from explorer.figures import summaries
from explorer.figures import vanishing as vf
from explorer.figures.style import DIVERGING_HIGH, DIVERGING_LOW
from ui import compute, params, url_state
from ui.blocks import chart, lesson, overflow_notes
from ui.scrub import live_view

with lesson(__file__, "∂h_t/∂h_(t−ℓ) is a product of ℓ Jacobians "
            "diag(φ'(a_t)) W_hh. Its norm is at most (σ₁γ)^ℓ, where σ₁ is W_hh's largest singular value and "
            "γ bounds |φ'| (1 for tanh, ¼ for sigmoid): below 1 the gradient must vanish, above it can explode "
            "(Pascanu, Mikolov & Bengio, 2013). Turn the scale slider across 1 and watch.") as sc:
    rec = compute.record(sc, full=True)
    overflow_notes(rec)
    proj = url_state.projector()
    jp, sp = compute.jacobians(sc)
    st.markdown("## Drag the scale across 1")
    live_view(sc, ("lags", "eigen"), key="live_vanishing")
    st.caption("**What to notice:** as the eigenvalues cross the unit circle the measured line turns from falling to "
               "rising" + (", always under the red bound line" if sc.cell == "rnn" else "") +
               "; the charts below follow when you release the knob.")
    a, b = st.columns(2, gap="large")
    fig, df = vf.eigen_plane(sp, projector=proj)
    chart(fig, df, key="eigen", where=a, title="Eigenvalues of the recurrent matrix",
          latex=r"\rho(W_{hh}) = \max_i |\lambda_i|", notice=f"ρ = {sp.rho:.3g}: eigenvalues outside the unit "
          "circle are directions a linear RNN stretches at every step.", summary=summaries.eigenvalues(df))
    fig, df = vf.singular_values(sp, projector=proj)
    chart(fig, df, key="singular", where=b, title="Singular values of the recurrent matrix",
          latex=r"\sigma_1 = \|W_{hh}\|_2,\quad \gamma = \sup|\varphi'| = " + f"{sp.gamma:g}",
          notice=f"σ₁γ = {sp.sigma1 * sp.gamma:.3g}: below 1 the gradient provably vanishes; above 1 it may explode.",
          summary=summaries.singular(df, sp.gamma))
    fig, df = vf.jacobian_norms(jp, sp, linear=sc.activation == "linear" and sc.cell == "rnn", projector=proj)
    reach = int(jp.lags[-1])
    if reach < rec.trace.valid_T:
        st.info(f"Drawn for lags 0 … {reach} of {rec.trace.valid_T}: each step's Jacobian of a {sc.cell.upper()} "
                f"with H = {sc.hidden} costs {wb.step_jacobian_cost(sc.cell, sc.hidden):.1e} multiply-adds, and "
                f"this chart gets {compute.JACOBIAN_WORK:.1e} (about {wb.seconds(compute.JACOBIAN_WORK):.1g} s). "
                "Lower H to reach further back.", icon=":material/timer:")
    chart(fig, df, key="jacobian_norms", title="How much of the gradient survives a lag of ℓ steps",
          latex=r"\Big\|\frac{\partial h_t}{\partial h_{t-\ell}}\Big\|_2 = \|J_t J_{t-1} \cdots J_{t-\ell+1}\|_2 \le "
                r"(\sigma_1\gamma)^{\ell},\qquad t = T - 1",
          notice=vf.jacobian_norms_notice(jp, sp, sc.cell), summary=summaries.jacobian_curve(df))
    kind = "ρ" if sc.scale_kind == "rho" else "σ₁"
    n_scales, phase_T, _ = compute.phase_size(sc)
    with st.spinner("Computing the phase map…"):
        phase = compute.phase(sc)
    if phase is None:
        st.markdown(f"### Phase map: {kind} of W_hh against lag")
        st.info(f"Skipped at this size: {n_scales} scales × even {compute.PHASE_MIN_T} steps of a "
                f"{sc.cell.upper()} with H = {sc.hidden} would take more than {compute.PHASE_WORK:.1e} multiply-adds "
                f"(about {wb.seconds(compute.PHASE_WORK):.1g} s). Lower H to see it.", icon=":material/timer:")
    else:
        scales, lags, z = phase
        fig, df = vf.phase_map(scales, lags, z, sc.scale, kind=kind, projector=proj)
        chart(fig, df, key="phase", title=f"Phase map: {kind} of W_hh against lag",
              summary=summaries.phase(df, sc.scale, kind),
              latex=r"\log_{10}\big\|\partial h_t / \partial h_{t-\ell}\big\| \text{ over (scale, lag } \ell)",
              notice=f"{DIVERGING_LOW} is vanishing (norm below 1), {DIVERGING_HIGH} exploding (above 1), white "
                     "about 1: the border sits near 1 for a linear RNN and moves right "
                     "for tanh, whose saturation shrinks every Jacobian"
                     + (f" (drawn over the first {phase_T} steps, {n_scales} scales: the work budget)."
                        if sc.T > phase_T else "."))

    st.markdown("## The cliff: why exploding gradients need clipping")
    st.latex(r"x_t = w\,\sigma(x_{t-1}) + b,\quad x_0 = 0.5,\qquad E(w,b) = (\sigma(x_{50}) - 0.7)^2")
    w0, b0, lr, n, clip = (url_state.widget(p, c) for p, c in zip(params.CLIFF, st.columns(5), strict=True))
    w, bgrid, E = compute.cliff_surface()
    paths = compute.cliff_paths(w0, b0, lr, n, clip)
    fig, df = vf.cliff(w, bgrid, E, paths, projector=proj)
    plain = paths["plain gradient descent"]
    chart(fig, df, key="cliff", title="Error surface of a one-unit RNN, with two descents",
          latex=r"\text{clipped: } g \leftarrow \frac{\theta}{\|g\|}\,g \text{ whenever } \|g\| > \theta",
          summary=summaries.cliff(df, (float(w.min()), float(w.max()), float(bgrid.min()), float(bgrid.max()))),
          notice=f"the wall is where the final state jumps between two attractors; the plain step's largest "
                 f"gradient was {plain.grad_norm.max():.3g}" + (", which threw it off the map" if
                 len(plain.w) <= n else "") + "; the clipped one keeps its step size and walks down.")
