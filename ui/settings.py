"""Shared settings: drawn in the sidebar of every page, kept when moving between pages, and mirrored in the URL
so a teacher can share a link to an exact view.

How state flows (this pattern is what survives page switches in classic `pages/` mode, checked in a browser):
- the canonical value of setting `k` lives in st.session_state["cfg_k"] (a plain key, never dropped);
- on the first run of a session it is read from the URL (?k=…), validated; nonsense gives a notice and the default;
- its widget has key "w_k", is re-seeded from "cfg_k" every run and writes back in on_change;
- at the end of every run the URL is rewritten from the canonical values (non-defaults only);
- what the app did to the link (values reset, changed to fit, names it does not know, keys given twice) is said
  in one "🔗" notice at the end of the run, when the page has drawn all its settings; every part of it that came
  from the link is plain text (ui.plain_text), never markdown.
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass

import streamlit as st

from explorer.persistence import model_bytes
from explorer.scenario import CELL_ACTIVATIONS, SCHEMES, TARGETS, Scenario

from .plain_text import plain


@dataclass(frozen=True)
class Param:
    key: str
    label: str
    kind: str                      # "int" | "float" | "choice" | "bool" | "keys" (comma-separated setting names)
    default: object
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    options: tuple = ()
    help: str | None = None

    def parse(self, raw: str):
        """The value for a URL string, or None if it is not a valid value of this setting."""
        try:
            if self.kind == "int":
                v = int(raw)
                return v if self.lo <= v <= self.hi else None
            if self.kind == "float":
                v = float(raw)
                return v if math.isfinite(v) and self.lo <= v <= self.hi else None
            if self.kind == "bool":
                return {"1": True, "true": True, "0": False, "false": False}.get(raw.lower())
            if self.kind == "keys":
                keys = [k for k in raw.split(",") if k]
                ok = len(raw) <= 400 and all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,30}", k) for k in keys)
                return ",".join(sorted(set(keys))) if ok else None
            return raw if raw in self.options else None
        except (ValueError, TypeError):
            return None

    def to_url(self, v) -> str:
        if self.kind == "bool":
            return "1" if v else "0"
        if self.kind == "float":
            return f"{v:g}"
        return str(v)


SHARED = [
    Param("cell", "Cell", "choice", "rnn", options=tuple(CELL_ACTIVATIONS),
          help="rnn: h_t = φ(W_xh x_t + W_hh h_{t−1} + b); lstm, gru: gated (PyTorch's form); indrnn: u ⊙ h_{t−1}"),
    Param("act", "Activation φ", "choice", "tanh", options=("tanh", "relu", "sigmoid", "linear")),
    Param("H", "Hidden units H", "int", 32, 2, 256, 1),
    Param("T", "Sequence length T", "int", 100, 2, 1000, 1),
    Param("init", "W_hh initialisation", "choice", "orthogonal", options=("orthogonal", "gaussian", "xavier", "identity")),
    Param("scale_kind", "Scale W_hh by", "choice", "rho", options=("rho", "sigma1"),
          help="rho: spectral radius ρ = max|λ|; sigma1: largest singular value σ₁"),
    Param("scale", "Scale (ρ or σ₁)", "float", 0.9, 0.1, 3.0, 0.05),
    Param("input", "Input scale", "float", 1.0, 0.0, 5.0, 0.1, help="x_t ∼ N(0, s²)"),
    Param("seed", "Seed", "int", 0, 0, 9999, 1),
    Param("target", "Loss", "choice", TARGETS[0], options=TARGETS),
    Param("scheme", "Truncation", "choice", "full", options=SCHEMES,
          help="full BPTT; TBPTT(k1, k2): every k1 steps backprop k2 ≥ k1 steps; randomized: cut each step with "
               "probability 1 − π and rescale by 1/π"),
    Param("k1", "k1 (steps per update)", "int", 10, 1, 1000, 1),
    Param("k2", "k2 (steps back, ≥ k1)", "int", 20, 1, 1000, 1),
    Param("keep", "π (keep probability)", "float", 0.8, 0.05, 1.0, 0.05),
    Param("proj", "Projector mode (larger text)", "bool", False),
]
# Not drawn in the sidebar: the guided tour's stop (0 = no tour) and teacher mode's hidden controls.
TOUR_STOP = Param("tour", "Guided tour stop", "int", 0, 0, 99, 1)
HIDE = Param("hide", "Controls hidden from students", "keys", "")
NAV = [("streamlit_app.py", "Home", "⏪"), ("pages/1_Unrolled_graph.py", "1 · Unrolled graph", "🕸️"),
       ("pages/2_Gradient_flow.py", "2 · Gradient flow", "🌊"),
       ("pages/3_Vanishing_and_exploding.py", "3 · Vanishing and exploding", "💥"),
       ("pages/4_Truncation.py", "4 · Truncation", "✂️"), ("pages/5_Training_lab.py", "5 · Training lab", "🏋️"),
       ("pages/6_Architectures.py", "6 · Architectures", "🧬"),
       ("pages/7_Cost_of_a_gradient.py", "7 · Cost of a gradient", "⏱️"),
       ("pages/8_Classroom.py", "For the classroom", "🎓")]
LABELS = {"rho": "ρ (spectral radius)", "sigma1": "σ₁ (largest singular value)", "full": "full BPTT",
          "tbptt": "TBPTT(k1, k2)", "randomized": "randomized truncation", "adding": "adding problem",
          "copy": "copy with a lag"}


def _quote(raw: object) -> str:
    """A link's value as the notice shows it: quoted, at most 40 characters, plain text."""
    return "'" + plain(raw, 40) + "'"


def _state(p: Param):
    """The canonical value, loaded from the URL the first time this session asks for it."""
    ck = "cfg_" + p.key
    if ck not in st.session_state:
        v = p.default
        if p.key in st.query_params:
            raw = st.query_params.get_all(p.key)[-1]
            parsed = p.parse(raw)
            if parsed is None:
                st.session_state.setdefault("_url_notes", []).append(f"{plain(p.key, 40)}={_quote(raw)}")
            else:
                v = parsed
                st.session_state.setdefault("_from_url", {})[p.key] = parsed
        st.session_state[ck] = v
    return st.session_state[ck]


def from_link(key: str) -> bool:
    """Whether `key`'s value was read from the page's address in this run (so a change to it must be said)."""
    return key in st.session_state.get("_from_url", {})


def link_change(key: str, text: str) -> bool:
    """Name, in the 🔗 notice, a change the app made to a value that came from the link (`text`: one sentence of
    markdown whose user-derived parts went through plain()). False, and nothing said, for a value not from it."""
    if not from_link(key):
        return False
    st.session_state.setdefault("_url_changes", []).append(text)
    return True


def _sync(key: str):
    st.session_state["cfg_" + key] = st.session_state["w_" + key]
    st.session_state["_moved"] = key          # which control the user moved: the truncation clamp follows it


def _fits(p: Param, v) -> bool:
    """Whether v has the type p's widget needs (bool is not an int here)."""
    if p.kind == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if p.kind == "float":
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if p.kind == "bool":
        return isinstance(v, bool)
    return isinstance(v, str)


def hidden() -> set[str]:
    """Setting names teacher mode hides (plus "nav" for the page links)."""
    return set(filter(None, str(_state(HIDE)).split(",")))


def meta(p: Param):
    """A setting that lives in the URL but has no widget of its own (tour, hide): its value, registered."""
    v = _state(p)
    if not _fits(p, v) or (p.kind == "int" and not p.lo <= v <= p.hi):
        v = st.session_state["cfg_" + p.key] = p.default
    st.session_state.setdefault("_params_used", {})[p.key] = p
    return v


def _valid(p: Param, options=None):
    """p's canonical value, made fit for its widget (and stored back): a value of another type (another page's
    setting under the same key, a stale preset) gives the default, a range that depends on T may have shrunk."""
    old = v = _state(p)
    if not _fits(p, v):
        v = p.default
    elif p.kind == "float" and isinstance(v, int):
        v = float(v)
    if p.kind in ("int", "float") and not p.lo <= v <= p.hi:
        v = min(max(v, p.lo), p.hi)
    elif p.kind == "choice" and v not in (options or p.options):
        v = p.default
    if v != old:
        link_change(p.key, f"{plain(p.key, 40)}={_quote(old)} was changed to {_quote(v)}: not allowed here")
    st.session_state["cfg_" + p.key] = v
    return v


def widget(p: Param, where=st, **kw):
    """Draw p's widget (in `where`) and return the canonical value — or, if teacher mode hides it, only the
    value (kept in the URL, so the view stays exact)."""
    v = _valid(p, kw.get("options"))
    st.session_state.setdefault("_params_used", {})[p.key] = p
    if p.key in hidden():
        return v
    wk = "w_" + p.key
    st.session_state[wk] = v
    common = dict(key=wk, on_change=_sync, args=(p.key,), help=p.help, **kw)
    if p.kind == "int":
        where.slider(p.label, int(p.lo), int(p.hi), step=int(p.step or 1), **common)
    elif p.kind == "float":
        where.slider(p.label, float(p.lo), float(p.hi), step=float(p.step), **common)
    elif p.kind == "bool":
        where.toggle(p.label, **common)
    else:
        opts = kw.pop("options", None) or p.options
        common.pop("options", None)
        where.selectbox(p.label, opts, format_func=lambda o: LABELS.get(o, o), **common)
    return st.session_state["cfg_" + p.key]


def _follow_cell(act: Param, cell: str) -> tuple:
    """The activations `cell` allows; φ follows the cell (an LSTM or a GRU has tanh only), said if φ was the link's."""
    allowed = CELL_ACTIVATIONS[cell]
    old = _state(act)
    if old not in allowed:                       # e.g. switched to an LSTM while φ was ReLU
        st.session_state["cfg_act"] = allowed[0]
        link_change("act", f"act={_quote(old)} was changed to {allowed[0]}: the {cell} cell uses "
                           f"{' or '.join(allowed)} only")
    return allowed


def _truncation_fits(k1p: Param, k2p: Param, T: int) -> list[str]:
    """Make the canonical k1, k2 the effective ones, k1 ≤ T and k1 ≤ k2 ≤ T: the one place they are clamped, so
    the sliders show what the Scenario runs. A link's value that changed is named in the notice; a change that
    follows the user's own move (k1 dragged above k2, T below them) is returned, for a caption under the controls."""
    k1, k2 = _valid(k1p), _valid(k2p)
    n1, n2 = min(k1, T), min(k2, T)
    if n2 < n1:                                  # k2 dragged below k1 pulls k1 down; otherwise k2 follows k1 up
        if st.session_state.get("_moved") == "k2" and not from_link("k2"):
            n1 = n2
        else:
            n2 = n1
    quiet = []
    for key, old, new in (("k1", k1, n1), ("k2", k2, n2)):
        if new == old:
            continue
        st.session_state["cfg_" + key] = new
        if new < old and new == T and old > T:
            why = f"lowered to T = {T}: it cannot exceed the sequence length"
        elif new < old:
            why = f"lowered to k2 = {new}: TBPTT needs k1 ≤ k2"
        else:
            why = f"raised to k1 = {new}: TBPTT needs k2 ≥ k1"
        if not link_change(key, f"{key}={plain(old)} was {why}"):
            quiet.append(f"{key} was {why}.")
    return quiet


def sidebar() -> Scenario:
    """Draw the shared settings and return the Scenario they describe."""
    st.session_state["_params_used"] = {}
    P = {p.key: p for p in SHARED}
    hide = meta(HIDE)                                  # (the tour's stop is read by classroom.tour_box)
    with st.sidebar:
        if "nav" not in hidden():
            for path, label, icon in NAV:
                st.page_link(path, label=label, icon=icon)
            st.divider()
        if hide:
            st.caption("🎓 Some controls are hidden for this lesson.")
        st.markdown("### Model and sequence")
        cell = widget(P["cell"], st)
        allowed = _follow_cell(P["act"], cell)
        widget(P["act"], st, options=allowed, disabled=len(allowed) == 1)
        for k in ("H", "T", "init", "scale_kind", "scale", "input", "seed", "target"):
            widget(P[k], st)
        with st.expander("Truncation", expanded=_state(P["scheme"]) != "full"):
            widget(P["scheme"], st)
            followed = _truncation_fits(P["k1"], P["k2"], st.session_state["cfg_T"])
            widget(P["k1"], st)
            widget(P["k2"], st)
            widget(P["keep"], st)
            if followed and not {"k1", "k2"} <= hidden():
                st.caption(" ".join(followed))
        widget(P["proj"], st)
        st.caption("Every setting is in the page's address: copy it to share this exact view.")
        st.session_state["_sidebar_end"] = st.container()       # filled at the end of the run (teacher mode)
    st.session_state.pop("_moved", None)
    c = {k: st.session_state["cfg_" + k] for k in P}
    sc = Scenario(cell=c["cell"], activation=c["act"], hidden=c["H"], T=c["T"], init=c["init"],
                    scale_kind=c["scale_kind"], scale=c["scale"], input_scale=c["input"], seed=c["seed"],
                    target=c["target"], scheme=c["scheme"], k1=c["k1"], k2=c["k2"], keep_prob=c["keep"])
    st.sidebar.download_button("⬇ this model (.npz)", lambda: model_bytes(sc.model(), {"scenario": sc.as_dict()}),
                               file_name="bptt_explorer_model.npz", mime="application/octet-stream",
                               on_click="ignore", key="model_npz",
                               help="the sidebar's network (its initial weights) as NumPy arrays with their "
                                    "PyTorch-style names; load it with explorer.persistence.load_model")
    return sc


def projector() -> bool:
    return bool(st.session_state.get("cfg_proj", False))


# Greek letters by name: a link may spell a setting by its symbol (rho → "Scale (ρ or σ₁)", pi → "π (keep …)").
_GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "eta": "η", "theta": "θ", "lambda": "λ",
          "mu": "μ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ"}
_META = ("tour", "hide")                  # read by the tour box and teacher mode, not drawn as widgets
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
        if k in used or k in _META or k in wrote:
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
        where.info("\n\n".join(parts), icon="🔗")


def url_values() -> dict[str, str]:
    """Every setting used in this run that differs from its default, as the URL writes it."""
    used = st.session_state.get("_params_used", {})
    return {k: p.to_url(st.session_state["cfg_" + k]) for k, p in used.items()
            if st.session_state.get("cfg_" + k, p.default) != p.default}


def write_url():
    """Rewrite the address bar from the canonical values of every setting used in this run (and remember which
    keys the app wrote: on the next run they are not the user's)."""
    values = url_values()
    st.session_state["_wrote"] = set(values)
    st.query_params.from_dict(values)
