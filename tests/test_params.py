"""The settings table: the sidebar's settings are the Scenario's fields (defaults, ranges, URL names written once),
k1/k2 fit by one rule, old links' loss labels still read, and one page registry that matches the files."""
from dataclasses import fields
from pathlib import Path

import pytest

from explorer.scenario import TARGETS, Scenario, url_name
from explorer.truncation import fit_truncation
from ui import params
from ui.page_registry import PAGES, page_of

ROOT = Path(__file__).resolve().parents[1]


def test_sidebar_settings_are_the_scenario_fields():
    assert [p.key for p in params.SCENARIO] == [url_name(f) for f in fields(Scenario)]
    for p, f in zip(params.SCENARIO, fields(Scenario), strict=True):
        assert p.default == f.default
        if p.kind in ("int", "float"):
            Scenario.from_settings({p.key: p.lo})          # both ends of every slider are valid Scenarios
            Scenario.from_settings({p.key: p.hi})
            below = p.lo - 1 if p.kind == "int" else p.lo - 0.01
            with pytest.raises(ValueError, match=f.name):
                Scenario.from_settings({p.key: below})
        else:
            assert p.default in p.options


def test_from_settings_maps_url_names_and_ignores_others():
    sc = Scenario.from_settings({"act": "relu", "H": 8, "input": 2.0, "keep": 0.5, "proj": True, "T": 30})
    assert (sc.activation, sc.hidden, sc.input_scale, sc.keep_prob, sc.T) == ("relu", 8, 2.0, 0.5, 30)
    assert Scenario.from_settings({}) == Scenario()


@pytest.mark.parametrize("k1,k2,T,moved,want", [
    (10, 20, 100, None, (10, 20)), (30, 20, 100, None, (30, 30)), (30, 20, 100, "k2", (20, 20)),
    (10, 20, 5, None, (5, 5)), (50, 80, 60, None, (50, 60)), (1, 1, 2, None, (1, 1))])
def test_fit_truncation(k1, k2, T, moved, want):
    assert fit_truncation(k1, k2, T, moved) == want


def test_scenario_fits_its_truncation_once():
    sc = Scenario(T=5, scheme="tbptt", k1=10, k2=3)
    assert (sc.k1, sc.k2) == (5, 5) and (sc.truncation().k1, sc.truncation().k2) == (5, 5)


def test_loss_is_stored_by_key_and_old_labels_still_read():
    p = params.BY_KEY["target"]
    assert set(p.options) == set(TARGETS)
    assert p.parse("every step, cross-entropy") == "every_cross_entropy"
    assert p.parse("last_squared") == "last_squared" and p.parse("every step, nonsense") is None
    assert Scenario(target="every_cross_entropy").loss == "cross_entropy"
    X, y, mask = Scenario(target="last_squared", T=4).data()
    assert mask[:, 0].tolist() == [0, 0, 0, 1]


def test_one_page_registry_matches_the_files():
    files = {"streamlit_app.py"} | {f"pages/{f.name}" for f in (ROOT / "pages").glob("*.py")}
    assert {p.path for p in PAGES} == files
    for p in PAGES:
        assert p.icon.startswith(":material/") and p.icon.endswith(":")
        assert page_of(str(ROOT / p.path)) is p
        src = (ROOT / p.path).read_text()
        assert "set_page_config" not in src and "with lesson(__file__" in src     # title and icon come from here


def test_no_page_declares_its_own_settings_inline():
    for f in (ROOT / "pages").glob("*.py"):
        assert "Param(" not in f.read_text(), f"{f.name} declares a setting: put it in ui/params.py"
