"""Every ```python block of README.md runs as written: each in a fresh namespace, from the project folder, without
an error, and prints what the README says it prints.

The Training block trains its 300 updates as written: about 4 s on this project's 2-core machine, so no number
in it is replaced."""
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```python\n(.*?)^```", README, flags=re.S | re.M)


def heading_of(block: str) -> str:
    """The README heading the block sits under (its test id)."""
    before = README[:README.index(block)]
    return re.findall(r"^#+ (.+)$", before, flags=re.M)[-1]


def test_the_readme_has_python_blocks():
    assert [heading_of(b) for b in BLOCKS] == ["The engine from a notebook", "Training"]


@pytest.mark.parametrize("block", BLOCKS, ids=[heading_of(b) for b in BLOCKS])
def test_readme_block_runs(block, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    ns = {"__name__": "__readme__"}
    exec(compile(block, f"README.md: {heading_of(block)}", "exec"), ns)
    out = capsys.readouterr().out
    print(f"--- README.md, {heading_of(block)}:\n{out}", end="")    # again: shown with -s / -rP, and on a failure
    lines = out.splitlines()
    if "rec.delta_norms" in block:
        # ten lines, t = 0, 10, …, 90, each the ‖δ_t‖ the block computed, formatted as the block formats it
        rec = ns["rec"]
        assert lines == [f"t={t:3d}  ‖δ_t‖ = ‖∂L/∂h_t‖ = {rec.delta_norms[t]:.3e}" for t in range(0, 100, 10)]
        assert all(math.isfinite(v) and v > 0 for v in rec.delta_norms)
    elif "summarize(" in block:
        # one sentence about the 300 updates; the DataFrame has one row per update
        records, cfg, task = ns["records"], ns["cfg"], ns["task"]
        from explorer.training import summarize
        assert lines == [summarize(records, cfg, task)]
        assert lines[0].startswith("TBPTT(k1=10, k2=10): loss ") and lines[0].endswith(
            "after 300 updates (k2=10 < lag 15: the gradient cannot reach the symbols).")
        assert len(ns["df"]) == 300 and ns["df"]["loss"].notna().all()
    else:
        pytest.fail(f"a new README block under {heading_of(block)!r}: say here what it prints")
