"""Streamlit's own floor on this machine: one slider and one small Plotly line (bench_latency's reference)."""
import numpy as np
import plotly.graph_objects as go
import streamlit as st

a = st.slider("Scale", 0.1, 3.0, 0.9, 0.05, key="scale")
x = np.arange(500)
st.plotly_chart(go.Figure(go.Scatter(x=x, y=np.sin(x / 20) * a ** (x / 100))), key="line")
