"""Work and memory budgets: every computation a request can trigger is sized before it runs, what it leaves out
is exact where it is drawn, and the pages say what they skipped. (Targets in seconds live in
benchmarks/bench_worst_case.py; here only counts, exactness and the messages.)"""
import tracemalloc

import numpy as np
import pytest
from test_app import assert_clean, charts, open_app
from test_training_lab import open_lab

import explorer as ex
from explorer import tasks
from explorer import work_budget as wb
from explorer.scenario import Scenario
from explorer.training import TrainConfig, Trainer
from ui import compute
from ui.training_lab import UPDATE_MEMORY, UPDATE_WORK, batch_size


def test_products_stop_at_the_largest_lag_and_equal_the_full_computation():
    sc = Scenario(cell="lstm", hidden=6, T=40, scale=1.1)
    tr = compute.record(sc, full=True).trace
    full = ex.jacobian_products(tr)
    part = ex.jacobian_products(tr, lags=[0, 3, 11])
    np.testing.assert_array_equal(part.lags, [0, 3, 11])
    np.testing.assert_allclose(part.log_norm, full.log_norm[[0, 3, 11]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(part.log_sv, full.log_sv[[0, 3, 11]], rtol=0, atol=1e-12)


@pytest.mark.parametrize("cell,act", [("rnn", "tanh"), ("lstm", "tanh"), ("gru", "tanh"), ("indrnn", "relu")])
def test_lesson_3_products_fit_their_budget(cell, act):
    sc = Scenario(cell=cell, activation=act, hidden=256, T=1000)
    L = compute.jacobian_lags(sc)
    n_svd = compute.svd_count(sc.T, sc.hidden)
    assert 1 <= L <= sc.T
    assert L * wb.step_jacobian_cost(cell, 256) + n_svd * wb.svd_cost(256) <= compute.JACOBIAN_WORK
    if L < sc.T:                                    # one more lag would not have fitted
        assert (L + 1) * wb.step_jacobian_cost(cell, 256) + n_svd * wb.svd_cost(256) > compute.JACOBIAN_WORK
    n_scales, steps, n_lags = compute.phase_size(sc)
    assert n_scales >= compute.PHASE_SCALES[0]
    assert n_scales * (steps * wb.step_jacobian_cost(cell, 256) + n_lags * wb.svd_cost(256)) <= compute.PHASE_WORK
    steps = compute.architectures_steps(1000, 256)
    n_lags = min(steps + 1, compute.svd_count(steps, 256))
    assert steps * sum(wb.step_jacobian_cost(c, 256) for c in compute.ARCH_CELLS) \
        + 5 * n_lags * wb.svd_cost(256) <= compute.ARCH_WORK


# (S, G, build of one J_t) by hand, for H hidden units: the LSTM's state is [h; c], the IndRNN's J_t is diagonal
BY_HAND = {"rnn": lambda H: (H, 1, H * H * H), "lstm": lambda H: (2 * H, 4, (2 * H) ** 2 * 4 * H),
           "gru": lambda H: (H, 3, H * H * 3 * H), "indrnn": lambda H: (H, 1, H)}


@pytest.mark.parametrize("cell", sorted(BY_HAND))
@pytest.mark.parametrize("H", [1, 7, 256])
def test_counts_equal_the_formulas_by_hand(cell, H):
    S, G, build = BY_HAND[cell](H)
    T, B, D = 100, 8, 3
    assert (wb.state_size(cell, H), wb.gate_blocks(cell)) == (S, G)
    assert wb.step_jacobian_cost(cell, H) == build + S ** 3
    assert wb.quadratic_cost(cell, H, T) == T * T * S * G * H
    assert wb.update_cost(cell, H, D, T, B) == 3 * T * B * G * H * (H + D)
    assert wb.update_bytes(cell, H, T, B) == 50 * T * B * G * H
    assert wb.draw_count(cell, H, T, 1e9, 1, 10 ** 9) == int(1e9 / (T * S * G * H))


@pytest.mark.parametrize("cell", sorted(BY_HAND))
def test_counts_read_the_cells_own_sizes(cell):
    model = ex.build_model(cell, 3, 6, 1, activation="relu" if cell == "indrnn" else "tanh")
    assert wb.state_size(cell, 6) == model.cell.state_size
    assert wb.gate_blocks(cell) * 6 == model.params["W_xh"].shape[0]


def test_an_unknown_cell_is_refused_not_counted_as_a_vanilla_rnn():
    with pytest.raises(ValueError, match="cell must be one of"):
        wb.step_jacobian_cost("transformer", 8)


def test_the_app_runs_numpy_on_one_blas_thread():
    """ui sets it, once NumPy is loaded (threadpool_limits reaches only libraries already loaded)."""
    import subprocess
    import sys
    code = "import streamlit, ui; from threadpoolctl import threadpool_info; print([i['num_threads'] for i in " \
           "threadpool_info() if i['user_api'] == 'blas'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1])).stdout
    assert out.strip() == "[1]", out


def test_small_settings_are_not_cut():
    sc = Scenario()                                  # the defaults: T = 100, H = 32
    assert compute.jacobian_lags(sc) == sc.T
    assert compute.phase_size(sc) == (compute.PHASE_SCALES[1], sc.T, compute.PHASE_LAGS[1])
    assert compute.architectures_T(sc) == sc.T
    assert batch_size("lstm", 32, 10, 70, 32) == 32


def test_lesson_3_at_the_corner_says_what_it_left_out():
    at = open_app("pages/3_Vanishing_and_exploding.py", cell="lstm", T="1000", H="256")
    assert_clean(at)
    infos = " ".join(i.value for i in at.info)
    assert "Drawn for lags 0 … " in infos and "of 1000" in infos, infos
    assert "Phase map" in " ".join(m.value for m in at.markdown) and "Skipped at this size" in infos, infos
    assert len(charts(at)) == 4                    # eigenvalues, singular values, products, cliff: no phase map


def test_one_lab_update_at_the_sliders_maxima_stays_within_its_memory_budget():
    """The lab's maxima: LSTM, H = 256, copy lag 200 (T = 220), B = 128 asked → the batch the lab uses."""
    task = tasks.CopyTask(lag=200)
    B = batch_size("lstm", 256, task.input_size, task.T, 128)
    assert 1 <= B < 128
    assert wb.update_bytes("lstm", 256, task.T, B) <= UPDATE_MEMORY
    assert wb.update_cost("lstm", 256, task.input_size, task.T, B) <= UPDATE_WORK
    trainer = Trainer(task, TrainConfig(cell="lstm", hidden_size=256, batch_size=B, clip="norm", snapshot_every=1))
    trainer.step()
    tracemalloc.start()
    try:
        trainer.step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 300e6, f"{peak / 1e6:.0f} MB"
    assert peak <= 1.25 * UPDATE_MEMORY, "the byte model (50 B per step·sequence·gate unit) underestimates"


def test_the_lab_at_its_maxima_says_it_trains_a_smaller_batch():
    at = open_lab(cell="lstm", H="256", size="200", B="128")
    assert_clean(at)
    msg = " ".join(i.value for i in at.info)
    B = batch_size("lstm", 256, 10, 220, 128)
    assert f"Training with batch size **{B}**, not 128" in msg, msg
    assert at.session_state["lab"].trainer.config.batch_size == B


def test_at_most_two_updates_run_at_once_in_a_server_process():
    """The process-wide slots that bound the memory of many sessions training at their maxima together."""
    from ui.live import UPDATES_AT_ONCE, update_slot
    with update_slot(0.01) as a, update_slot(0.01) as b:
        assert a and b and UPDATES_AT_ONCE == 2
        with update_slot(0.01) as c:
            assert not c                                         # a third waits (here: gives up after 10 ms)
    with update_slot(0.01) as d:
        assert d                                                 # released again


def test_a_relu_gradient_that_dies_within_the_drawn_lags_leaves_a_gap_not_a_warning():
    """IndRNN (ReLU) at H = 256, T = 1000: some lags' products are exactly 0; the band there is a gap."""
    from explorer.figures import vanishing as vf
    sc = Scenario(cell="indrnn", activation="relu", hidden=256, T=1000)
    jp, sp = compute.jacobians(sc)
    dead = ~np.isfinite(jp.log10_sv).any(axis=1)
    assert dead.any(), "the case this test is about: a lag whose every singular value is 0"
    fig, _ = vf.jacobian_norms(jp, sp, linear=False)           # RuntimeWarnings are errors in this suite
    band = np.asarray(fig["data"][0]["y"], dtype=float)
    assert np.isnan(band[dead]).all() and np.isfinite(band[~dead]).any()
