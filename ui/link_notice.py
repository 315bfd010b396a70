"""The link notice (its icon :material/link:): what the app did to the link it was opened with — values reset to their defaults, values changed
to fit the others, names that are not settings of this page (with the setting it most likely meant), keys given
twice. Every part of it that came from the link is plain text (ui.plain_text), never markdown.
"""
from __future__ import annotations

import difflib
import re

import streamlit as st

from .params import META, Param
from .plain_text import plain
from .url_state import from_link, hidden

# Greek letters by name: a link may spell a setting by its symbol (rho → "Scale (ρ or σ₁)", pi → "π (keep …)").
_GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "eta": "η", "theta": "θ", "lambda": "λ",
          "mu": "μ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ"}
_META_KEYS = {p.key for p in META}    # read by the tour box and teacher mode, not drawn as widgets
LINK_ICON = ":material/link:"          # Material Symbols ship with Streamlit: no emoji font needed
_MAX_NAMED = 10                           # a link can hold 1000 keys: name the first few, count the rest


def _label_words(p: Param) -> set[str]:
    """The words of p's label that can stand for it: letters only, ≥ 3 of them or one symbol (ρ, σ, π)."""
    words = ("".join(filter(str.isalpha, w)) for w in re.findall(r"\w+", p.label.lower()))      # σ₁ → σ
    return {w for w in words if len(w) >= 3 or (w and not w.isascii())}


def suggest(key: str, used: dict[str, Param]) -> str | None:
    """The setting a mistyped key most likely meant: the same name in another case (t → T, Scale → scale), a word
    or symbol of its label (rho → ρ → scale, length → T), else the closest name (difflib), else None."""
    low = key.lower()
    by_lower = {k.lower(): k for k in used}
    if low in by_lower:
        return by_lower[low]
    word = _GREEK.get(low, low)
    for k, p in used.items():
        if word in _label_words(p):
            return k
    close = difflib.get_close_matches(low, list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def _name(key: str) -> str:
    return plain(key, 40) or "an empty name"


def _capped(sentences: list[str], rest: str) -> list[str]:
    more = len(sentences) - _MAX_NAMED
    return sentences[:_MAX_NAMED] + ([f"… and {more} more {rest}."] if more > 0 else [])


def _unknown_keys(used: dict[str, Param]) -> list[str]:
    """One sentence per key of the address that this page does not know — leaving out the keys the app itself
    wrote (write_url, for this page or the one before a page switch): only what the user's link added counts."""
    wrote = st.session_state.get("_wrote", set())
    out = []
    for k in st.query_params:
        if k in used or k in _META_KEYS or k in wrote:
            continue
        s = suggest(k, used)
        out.append(f"{_name(k)} is not a setting of this page and was ignored"
                   + (f" — did you mean {plain(s, 40)}?" if s else "."))
    return _capped(out, "names that are not settings of this page")


def _repeated_keys() -> list[str]:
    """One sentence per key given more than once (?T=10&T=20): the app never writes one, so the user's link did."""
    out = [f"{_name(k)} was given {len(st.query_params.get_all(k))} times; only the last value counts."
           for k in st.query_params if len(st.query_params.get_all(k)) > 1]
    return _capped(out, "keys given more than once")


def _hidden_unknown(used: dict[str, Param]) -> list[str]:
    """Teacher mode's link names a control this page does not have (hide=Scale): nothing is hidden for it."""
    if not from_link("hide"):
        return []
    out = []
    for k in sorted(hidden() - set(used) - {"nav"}):
        s = suggest(k, used)
        out.append(f"hide names {_name(k)}, which is not a control of this page"
                   + (f" — did you mean {plain(s, 40)}?" if s else "."))
    return _capped(out, "hidden names that are not controls of this page")


def notices(where=st, complete: bool = True):
    """Say (once) what the app did to the link: values reset to their defaults, values changed to fit the others,
    names that are not settings of this page, keys given twice. Called at the END of the run, when the page has
    drawn — so registered — all its settings; a run that failed (complete=False) cannot tell which are unknown."""
    resets = st.session_state.pop("_url_notes", [])
    changes = st.session_state.pop("_url_changes", [])
    parts = []
    if resets:
        parts.append("This link had settings that are not valid here, so they were reset to their defaults: "
                     + ", ".join(resets) + ".")
    if changes:
        parts.append(" ".join(c + "." for c in changes))
    used = st.session_state.get("_params_used", {})
    names = (_unknown_keys(used) + _hidden_unknown(used) if complete else []) + _repeated_keys()
    if names:
        parts.append(" ".join(names))
    st.session_state.pop("_from_url", None)
    if parts:
        where.info("\n\n".join(parts), icon=LINK_ICON)
