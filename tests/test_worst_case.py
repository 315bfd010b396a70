"""Every page at the corners of the shared settings (T and H at their maxima and minima, every cell): it runs,
shows no error, and where it had to leave something out it says so. (Server CPU and memory at these corners are
measured by benchmarks/bench_worst_case.py, not timed here.)"""
import pytest
from test_app import assert_clean, open_app

PAGES = ["pages/1_Unrolled_graph.py", "pages/2_Gradient_flow.py", "pages/3_Vanishing_and_exploding.py",
         "pages/4_Truncation.py", "pages/6_Architectures.py"]
CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh"), ("indrnn", "relu")]
SAYS = {"pages/2_Gradient_flow.py": "The G map costs", "pages/3_Vanishing_and_exploding.py": "Drawn for lags",
        "pages/4_Truncation.py": "The G map costs"}


@pytest.mark.parametrize("cell,act", CELLS, ids=[f"{c}-{a}" for c, a in CELLS])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_at_the_maxima_runs_and_says_what_it_left_out(page, cell, act):
    at = open_app(page, cell=cell, act=act, T="1000", H="256", scheme="tbptt", k1="5", k2="10")
    assert_clean(at)
    if page in SAYS:
        said = " ".join(i.value for i in at.info)
        assert SAYS[page] in said, said[:500]


@pytest.mark.parametrize("cell,act", CELLS, ids=[f"{c}-{a}" for c, a in CELLS])
@pytest.mark.parametrize("page", PAGES + ["pages/5_Training_lab.py", "pages/7_Cost_of_a_gradient.py"])
def test_every_page_at_the_minima_runs(page, cell, act):
    at = open_app(page, cell=cell, act=act, T="2", H="2", scheme="tbptt", k1="1", k2="1")
    assert_clean(at)
