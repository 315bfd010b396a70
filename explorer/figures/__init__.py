"""Plotly figure builders: pure functions from engine results to (figure, DataFrame of what is drawn).
Imported on its own (`import explorer.figures`), so `import explorer` needs only NumPy."""
from . import gradient_flow, truncation_figs, unrolled, vanishing
from .style import PLOTLY_CONFIG, style

__all__ = ["PLOTLY_CONFIG", "gradient_flow", "style", "truncation_figs", "unrolled", "vanishing"]
