"""BPTT Explorer — entry point. The lessons arrive with the app issue; this page says what exists today and
runs the engine live so a fresh install can be checked in one glance."""
import numpy as np
import streamlit as st

import explorer as ex

st.set_page_config(page_title="BPTT Explorer", page_icon="⏪", layout="wide")
st.title("BPTT Explorer")
st.markdown(
    "An interactive lab for **backpropagation through time**. The exact NumPy engine (`explorer/`) is in place: "
    "vanilla RNN (tanh, ReLU, sigmoid, linear), LSTM, GRU and IndRNN cells; full BPTT with per-timestep records; "
    "TBPTT(k1, k2) and randomized truncation with the masks they apply; Jacobian products and spectra; clipping; "
    "RTRL; checkpointing. The lesson pages are being built next."
)
st.latex(r"\delta_t = W_{hy}^\top \frac{\partial \ell_t}{\partial y_t} + J_{t+1}^\top \delta_{t+1},\qquad "
         r"J_t = \operatorname{diag}(\varphi'(a_t))\, W_{hh}")
rho = st.slider("Spectral radius ρ of W_hh", 0.5, 1.5, 0.9, 0.05, key="rho")
T = 100
model = ex.build_model("rnn", 1, 32, 1, scale=rho, seed=0)
X = np.random.default_rng(0).standard_normal((T, 1, 1))
rec = ex.bptt(model, X, np.zeros((T, 1, 1)), loss="squared_error")
st.line_chart({"log10 ‖δ_t‖": np.log10(rec.delta_norms)}, x_label="timestep t", y_label="log10 ‖∂L/∂h_t‖")
st.caption("What to notice: with ρ < 1 the gradient reaching early steps shrinks geometrically; past ρ ≈ 1 it grows.")
