"""Streamlit's own floor on this machine (bench_latency's reference): one slider and one small Plotly line, or
with ?charts=N, N such lines in two columns (the same number of charts a lesson redraws)."""
import numpy as np
import plotly.graph_objects as go
import streamlit as st

st.set_page_config(layout="wide")
n = min(max(int(st.query_params.get("charts", "1")), 1), 10) if st.query_params.get("charts", "1").isdigit() else 1
a = st.slider("Scale", 0.1, 3.0, 0.9, 0.05, key="scale")
x = np.arange(500)
cols = st.columns(2) if n > 1 else [st.container()]
for i in range(n):
    cols[i % len(cols)].plotly_chart(go.Figure(go.Scatter(x=x, y=np.sin(x / 20 + i) * a ** (x / 100))), key=f"line{i}")
