"""What each cell class says about itself (gate blocks, state blocks, diagonal recurrence) is what its arrays
are: code outside explorer/cells asks these class attributes instead of restating them."""
import numpy as np
import pytest

import explorer as ex
from explorer import init as inits
from explorer.cells import CELLS

H, D = 5, 3


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_gate_names_and_state_size_are_the_cells_shapes(kind):
    cls = CELLS[kind]
    assert len(cls.gate_names) == cls.n_gates == len(set(cls.gate_names))
    act = "relu" if kind == "indrnn" else "tanh"
    model = ex.build_model(kind, D, H, 1, activation=act, seed=0)
    G, S = cls.n_gates, cls.state_size_for(H)
    assert model.cell.state_size == S == len(cls.state_names) * H
    assert model.params["W_xh"].shape == (G * H, D) and model.params["b_h"].shape == (G * H,)
    if cls.diagonal_recurrence:
        assert model.params["u"].shape == (H,) and "W_hh" not in model.params
    else:
        assert model.params["W_hh"].shape == (G * H, H)
    tr = ex.forward(model, np.ones((4, 2, D)), np.zeros((4, 2, 1)), loss="squared_error")
    assert tr.cache.states.shape == (5, 2, S) and tr.cache.pre.shape == (4, 2, G * H)
    rows = np.concatenate([np.arange(G * H)[cls.gate_slice(g, H)] for g in cls.gate_names])
    np.testing.assert_array_equal(rows, np.arange(G * H))         # the blocks tile the rows in gate order


def test_the_facts_the_rest_of_the_code_relies_on():
    assert CELLS["lstm"].gate_names == ("i", "f", "g", "o")      # PyTorch's order (torch_names relies on it)
    assert CELLS["gru"].gate_names == ("r", "z", "n")
    assert CELLS["rnn"].n_gates == CELLS["indrnn"].n_gates == 1
    assert CELLS["lstm"].state_names == ("h", "c") and CELLS["lstm"].state_size_for(7) == 14
    assert [k for k, c in CELLS.items() if c.diagonal_recurrence] == ["indrnn"]
    assert [k for k, c in CELLS.items() if len(c.state_names) > 1] == ["lstm"]


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_init_recurrent_stacks_one_square_block_per_gate(kind):
    cell = CELLS[kind](D, H)
    W = cell.init_recurrent(np.random.default_rng(3), "orthogonal", 0.1)["W_hh"]
    assert W.shape == (cell.n_gates * H, H)
    blocks = cell.recurrent_blocks({"W_hh": W})
    assert list(blocks) == ([f"W_h{g}" for g in cell.gate_names] if cell.n_gates > 1 else ["W_hh"])
    for B in blocks.values():
        np.testing.assert_allclose(B.T @ B, np.eye(H), atol=1e-12)     # each block orthogonal on its own
    # the blocks are drawn one after another from the same generator (so seeds keep their models)
    rng = np.random.default_rng(3)
    want = np.concatenate([inits.square("orthogonal", H, rng, sigma=0.1) for _ in range(cell.n_gates)])
    np.testing.assert_array_equal(W, want)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_input_projection_is_w_xh_x_plus_b(kind):
    act = "relu" if kind == "indrnn" else "tanh"
    model = ex.build_model(kind, D, H, 1, activation=act, seed=1)
    X = np.random.default_rng(2).standard_normal((6, 2, D))
    p = model.params
    want = np.einsum("gd,tbd->tbg", p["W_xh"], X) + p["b_h"]
    np.testing.assert_allclose(model.cell.input_projection(p, X), want, rtol=1e-13, atol=1e-13)
    # from s_0 = 0 step 0 adds no recurrent part (b_hn is 0 at build), so the cache's pre[0] is the projection
    tr = ex.forward(model, X, np.zeros((6, 2, 1)), loss="squared_error")
    np.testing.assert_allclose(tr.cache.pre[0], want[0], rtol=1e-13, atol=1e-13)
