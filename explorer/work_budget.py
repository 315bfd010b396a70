"""What a computation will cost before it runs: multiply-adds and bytes, per cell, so that every chart (and every
training update) can be sized to a budget and say what it left out, instead of holding a core for a minute.

Counts (H hidden units; S the state size and G the gate blocks, both asked of the cell class: `state_size` and
`gate_blocks` below read Cell.state_size_for(H) and Cell.n_gates):
    one step Jacobian J_t = ∂h_t/∂h_{t−1}     S · (S·G·H): S vector–Jacobian products through the cell,
                                               or S when its recurrence is diagonal (Cell.diagonal_recurrence)
    one step of the long-range product P·J_t   S³
    one SVD of an m × m block                  ≈ 2.5 m³ (LAPACK's gesdd, values only: 4.3 ms at m = 256 here)
    the all-losses pass (G map)                T² · S · G · H
    one randomized-truncation draw             T · S · G · H (one backward pass)
    one training update                        ≈ 3 · T · B · G · H · (H + D) forward and back;
                                               its memory ≈ 50 bytes · T · B · G · H (measured with tracemalloc:
                                               forward cache + backward, float64)
RATE is what this project's 2-core machine sustains single-threaded (≈ 1e10 multiply-adds/s for H ≥ 64); it
only turns counts into the seconds quoted to users.
"""
from __future__ import annotations

import math

from .cells import CELLS
from .validation import choice

RATE = 1e10                  # multiply-adds per second, one BLAS thread, on this project's machine
UPDATE_BYTES_PER_UNIT = 50   # bytes of one training update per (step · sequence · gate unit)


def _cell_class(cell: str):
    """The Cell class of a cell name ("rnn", "lstm", "gru", "indrnn"), whose class attributes the counts read."""
    return CELLS[choice("cell", cell, tuple(CELLS))]


def state_size(cell: str, H: int) -> int:
    """S: the width of the cell's state s_t (Cell.state_size_for)."""
    return _cell_class(cell).state_size_for(H)


def gate_blocks(cell: str) -> int:
    """G: the cell's gate blocks, each H rows of W_xh and W_hh (Cell.n_gates)."""
    return _cell_class(cell).n_gates


def step_jacobian_cost(cell: str, H: int) -> float:
    """Multiply-adds to build one J_t and multiply it into the running product ∂s_T/∂s_k."""
    S = state_size(cell, H)
    build = S if _cell_class(cell).diagonal_recurrence else S * S * gate_blocks(cell) * H
    return float(build + S ** 3)


def svd_cost(m: int) -> float:
    return 2.5 * m ** 3


def jacobian_lags(cell: str, H: int, T: int, work: float, n_svd: int) -> int:
    """The largest lag L ≤ T whose products ∂s_T/∂s_{T−ℓ}, ℓ = 0 … L, and n_svd SVDs of H × H fit in `work`
    (at least 1, so there is always something to draw)."""
    left = work - n_svd * svd_cost(H)
    return int(max(1, min(T, left // step_jacobian_cost(cell, H))))


def phase_size(cell: str, H: int, T: int, work: float, scales: tuple[int, int],
               lags: tuple[int, int]) -> tuple[int, int, int]:
    """(n_scales, steps, n_lags) of a phase map (explorer.jacobians.phase_map) over at most T steps within `work`:
    per scale, `steps` step Jacobians and products and one SVD (H × H) per lag. n_scales is as many as fit with
    every step and min(T + 1, lags[1]) SVDs, within scales = (least, most); n_lags as many as fit in half the
    work, within lags = (least, most); steps then take what is left (≤ T; it may fall below what the caller can
    draw), and n_lags never exceeds steps + 1."""
    step, svd = step_jacobian_cost(cell, H), svd_cost(H)
    n_scales = int(min(max(work / (T * step + min(T + 1, lags[1]) * svd), scales[0]), scales[1]))
    n_lags = int(min(max(work / 2 / (n_scales * svd), lags[0]), lags[1]))
    steps = int(min(T, (work - n_scales * n_lags * svd) // (n_scales * step)))
    return n_scales, steps, min(n_lags, steps + 1)


def lag_profile_steps(cells, H: int, T: int, work: float, n_svd: int) -> int:
    """Steps (1 … T) over which the lag profiles of several cells (one ∂h_t/∂h_(t−ℓ) product each, plus an SVD per cell
    at each of n_svd lags) fit in `work`. When so few steps fit that fewer than n_svd lags exist, every lag of every
    cell gets its SVD and the steps are counted with that."""
    per_step = sum(step_jacobian_cost(c, H) for c in cells)
    svds = len(cells) * svd_cost(H)                         # one SVD per cell at each lag drawn
    steps = (work - n_svd * svds) // per_step
    if steps + 1 < n_svd:                                   # few steps: every one of their lags is drawn
        steps = (work - svds) // (per_step + svds)
    return int(max(1, min(T, steps)))


def draw_count(cell: str, H: int, T: int, work: float, least: int, most: int) -> int:
    """How many randomized-truncation draws (one backward pass each, T · S · G · H) fit in `work`, clamped to
    least … most."""
    return int(min(max(work / (T * state_size(cell, H) * H * gate_blocks(cell)), least), most))


def quadratic_cost(cell: str, H: int, T: int) -> float:
    """Work of one all-losses pass: T² steps of an (S × G·H) product."""
    return float(T) ** 2 * state_size(cell, H) * gate_blocks(cell) * H


def update_cost(cell: str, H: int, D: int, T: int, B: int) -> float:
    """Multiply-adds of one training update (forward + backward) on B sequences of T steps."""
    return 3.0 * T * B * gate_blocks(cell) * H * (H + D)


def update_bytes(cell: str, H: int, T: int, B: int) -> float:
    """Peak bytes of one training update (float64)."""
    return float(UPDATE_BYTES_PER_UNIT) * T * B * gate_blocks(cell) * H


def batch_limit(cell: str, H: int, D: int, T: int, *, memory: float, work: float) -> int:
    """The largest batch size B ≥ 1 whose update stays within `memory` bytes and `work` multiply-adds."""
    by_memory = memory / update_bytes(cell, H, T, 1)
    by_work = work / update_cost(cell, H, D, T, 1)
    return max(1, math.floor(min(by_memory, by_work)))


def seconds(multiply_adds: float) -> float:
    """The time `multiply_adds` take here (RATE), for messages."""
    return multiply_adds / RATE
