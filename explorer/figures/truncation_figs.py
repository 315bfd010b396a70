"""Charts for the truncation lesson: bias of TBPTT against the full gradient as k2 grows, and the spread of the
randomized estimator over draws."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import COLORS, log_axis, style


def bias_vs_k2(k2s, cosine, rel_error, *, current: int | None = None, projector=False):
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=k2s, y=cosine, mode="lines+markers", name="cosine(ĝ, g)",
                             line=dict(width=4, color=COLORS["blue"])), secondary_y=False)
    fig.add_trace(go.Scatter(x=k2s, y=rel_error, mode="lines+markers", name="‖ĝ − g‖ / ‖g‖",
                             line=dict(width=4, color=COLORS["red"], dash="dash")), secondary_y=True)
    if current is not None:
        fig.add_vline(x=current, line=dict(color="black", width=2, dash="dot"), annotation_text=f"k2 = {current}")
    style(fig, x="k2 (steps each update backpropagates)", projector=projector)
    fig.update_yaxes(title_text="cosine similarity", range=[min(-0.05, float(np.nanmin(cosine)) - 0.05), 1.05],
                     secondary_y=False)
    fig.update_yaxes(title_text="relative error (log)", secondary_y=True, showgrid=False)
    log_axis(fig, rel_error, secondary_y=True)
    return fig, pd.DataFrame({"k2": k2s, "cosine": cosine, "relative_error": rel_error})


def randomized_spread(draw_errors: np.ndarray, mean_errors: np.ndarray, *, projector=False):
    """Relative error of single draws and of the running mean over n draws, against n (log–log)."""
    n = np.arange(1, draw_errors.size + 1)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=n, y=draw_errors, mode="markers", name="one draw", marker=dict(
        size=6, color=COLORS["grey"], opacity=0.5)))
    fig.add_trace(go.Scatter(x=n, y=mean_errors, mode="lines", name="mean of the first n draws",
                             line=dict(width=4, color=COLORS["green"])))
    ref = mean_errors[0] / np.sqrt(n)
    fig.add_trace(go.Scatter(x=n, y=ref, mode="lines", name="∝ 1/√n", line=dict(width=2, dash="dot",
                                                                                  color=COLORS["black"])))
    log_axis(fig, n, axis="x")
    log_axis(fig, np.concatenate([draw_errors, mean_errors]))
    df = pd.DataFrame({"n": n, "rel_error_one_draw": draw_errors, "rel_error_mean_of_n": mean_errors})
    return style(fig, x="number of draws n", y="‖ĝ − g‖ / ‖g‖ (log)", projector=projector), df
