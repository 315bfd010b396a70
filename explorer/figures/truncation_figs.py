"""Charts for the truncation lesson: bias of TBPTT against the full gradient as k2 grows, and the spread of the
randomized estimator over draws."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .style import COLORS, axis, figure, log_axis, ref_line, style, trace


def bias_vs_k2(k2s, cosine, rel_error, *, current: int | None = None, projector=False):
    fig = figure(trace("scatter", x=k2s, y=cosine, mode="lines+markers", name="cosine(ĝ, g)",
                       line=dict(width=4, color=COLORS["blue"])),
                 trace("scatter", x=k2s, y=rel_error, mode="lines+markers", name="‖ĝ − g‖ / ‖g‖", yaxis="y2",
                       line=dict(width=4, color=COLORS["red"], dash="dash")),
                 xaxis=dict(domain=[0.0, 0.9]))
    if current is not None:
        ref_line(fig, x=current, text=f"k2 = {current}")
        # the label inside the plot, beside its line: above it, it sat on the legend
        fig["layout"]["annotations"][-1].update(y=0.5, yanchor="middle", xanchor="left", xshift=6,
                                                 bgcolor="rgba(255,255,255,0.85)")
    style(fig, x="k2 (steps each update backpropagates)", y="cosine similarity", projector=projector)
    axis(fig, "yaxis", range=[min(-0.05, float(np.nanmin(cosine)) - 0.05), 1.05])
    axis(fig, "yaxis2", title={"text": "relative error (log)"}, overlaying="y", side="right", anchor="x",
         showgrid=False, showline=True, linewidth=2, linecolor="#444", ticks="outside")
    log_axis(fig, rel_error, name="yaxis2")
    # legend above the plot: at the right it covered the secondary axis's ticks (seen in projector mode)
    fig["layout"]["legend"] = dict(orientation="h", x=0.0, y=1.02, xanchor="left", yanchor="bottom")
    fig["layout"]["margin"] = {**fig["layout"]["margin"], "t": 60}
    return fig, pd.DataFrame({"k2": k2s, "cosine": cosine, "relative_error": rel_error})


def randomized_spread(draw_errors: np.ndarray, mean_errors: np.ndarray, *, projector=False):
    """Relative error of single draws and of the running mean over n draws, against n (log–log)."""
    n = np.arange(1, draw_errors.size + 1)
    ref = mean_errors[0] / np.sqrt(n)
    fig = figure(trace("scatter", x=n, y=draw_errors, mode="markers", name="one draw",
                       marker=dict(size=6, color=COLORS["grey"], opacity=0.5)),
                 trace("scatter", x=n, y=mean_errors, mode="lines", name="mean of the first n draws",
                       line=dict(width=4, color=COLORS["green"])),
                 trace("scatter", x=n, y=ref, mode="lines", name="∝ 1/√n",
                       line=dict(width=2, dash="dot", color=COLORS["black"])))
    log_axis(fig, n, name="xaxis")
    log_axis(fig, np.concatenate([draw_errors, mean_errors]))
    df = pd.DataFrame({"n": n, "rel_error_one_draw": draw_errors, "rel_error_mean_of_n": mean_errors})
    return style(fig, x="number of draws n", y="‖ĝ − g‖ / ‖g‖ (log)", projector=projector), df
