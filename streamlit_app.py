"""BPTT Explorer — home: what backpropagation through time is, in one screen, and the map of the lessons."""
import streamlit as st

from ui.blocks import lesson
from ui.classroom import LOOPBACK
from ui.page_registry import CLASSROOM, LESSONS
from ui.presets import PRESETS

CELL_EQUATIONS = {
    "rnn": [r"a_t = W_{xh} x_t + W_{hh} h_{t-1} + b_h,\qquad h_t = \varphi(a_t)",
            r"J_t = \frac{\partial h_t}{\partial h_{t-1}} = \operatorname{diag}(\varphi'(a_t))\,W_{hh}"],
    "lstm": [r"[i, f, g, o] = [\sigma, \sigma, \tanh, \sigma](W_{xh} x_t + W_{hh} h_{t-1} + b_h)",
             r"c_t = f \odot c_{t-1} + i \odot g,\qquad h_t = o \odot \tanh(c_t)",
             r"\frac{\partial c_t}{\partial c_{t-1}}\Big|_{\text{direct}} = \operatorname{diag}(f_t)"
             r"\quad\text{(the constant error carousel when } f \approx 1)"],
    "gru": [r"r = \sigma(W_{xr} x_t + W_{hr} h_{t-1} + b_r),\quad z = \sigma(W_{xz} x_t + W_{hz} h_{t-1} + b_z)",
            r"n = \tanh(W_{xn} x_t + b_n + r \odot (W_{hn} h_{t-1} + b_{hn})),\qquad "
            r"h_t = (1 - z) \odot n + z \odot h_{t-1}"],
    "indrnn": [r"h_t = \varphi(W_{xh} x_t + u \odot h_{t-1} + b_h)",
               r"\frac{\partial h_{t,n}}{\partial h_{k,n}} = u_n^{\,t-k} \prod_{j=k+1}^{t} \varphi'(a_{j,n})"],
}

with lesson(__file__, "A recurrent network applies the **same weights at every step**. To train it, we "
            "unroll it over the sequence and backpropagate through the unrolled graph — *backpropagation through "
            "time*. The gradient that reaches an early step is a **product of step Jacobians**, so it shrinks or "
            "grows geometrically with distance: that is why plain RNNs forget, why gradients explode, and why "
            "truncating the backward pass changes what a network can learn. Move the sliders on the left; every "
            "lesson redraws at once, and the page's address always holds your exact settings.") as sc:
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.markdown("## The backward pass in one line")
        st.latex(r"\delta_t = \frac{\partial L}{\partial h_t} = W_{hy}^{\top}\frac{\partial \ell_t}{\partial y_t}"
                 r" + J_{t+1}^{\top}\,\delta_{t+1},\qquad \delta_T = 0")
        st.latex(r"\frac{\partial L}{\partial W_{hh}} = \sum_t \big(\varphi'(a_t)\odot\delta_t\big)\,h_{t-1}^{\top},"
                 r"\qquad \frac{\partial h_t}{\partial h_k} = J_t J_{t-1}\cdots J_{k+1}")
        st.markdown(f"## The selected cell: `{sc.cell}`")
        for eq in CELL_EQUATIONS[sc.cell]:
            st.latex(eq)
        st.caption("Steps are t = 0 … T − 1, as the engine's arrays are; h₋₁ is the initial state. "
                   "L = Σ_t ℓ_t (summed over time, averaged over the batch). The engine (`import explorer`) "
                   "reproduces every number shown here from a notebook.")
        if (st.get_option("server.address") or "").strip("[]") in LOOPBACK:
            who = ("It listens on this machine only (`server.address` in `.streamlit/config.toml`); to let "
                   "students on your network open it, start it with `--server.address 0.0.0.0` (README: Run it "
                   "for a classroom).")
        else:
            who = ("It listens on every network interface: anyone on this network can open it "
                   "(`--server.address 127.0.0.1` keeps it on this machine).")
        st.caption("Running it yourself: `streamlit run` takes port 8501, or silently 8502, 8503, … when that one is "
                   "busy, so the address to open and to share is the one it printed. " + who)
    with right:
        st.markdown("## Lessons")
        for page in LESSONS + (CLASSROOM,):
            st.page_link(page.path, label=page.label, icon=page.icon)
            st.caption(page.blurb.format(n=len(PRESETS)))
