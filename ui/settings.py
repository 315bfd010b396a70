"""Shared settings: drawn in the sidebar of every page, kept when moving between pages, and mirrored in the URL
so a teacher can share a link to an exact view.

How state flows (this pattern is what survives page switches in classic `pages/` mode, checked in a browser):
- the canonical value of setting `k` lives in st.session_state["cfg_k"] (a plain key, never dropped);
- on the first run of a session it is read from the URL (?k=…), validated; nonsense gives a notice and the default;
- its widget has key "w_k", is re-seeded from "cfg_k" every run and writes back in on_change;
- at the end of every run the URL is rewritten from the canonical values (non-defaults only).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import streamlit as st

from explorer.persistence import model_bytes
from explorer.scenario import CELL_ACTIVATIONS, SCHEMES, TARGETS, Scenario


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


def _state(p: Param):
    """The canonical value, loaded from the URL the first time this session asks for it."""
    ck = "cfg_" + p.key
    if ck not in st.session_state:
        v = p.default
        if p.key in st.query_params:
            raw = st.query_params.get_all(p.key)[-1]
            parsed = p.parse(raw)
            if parsed is None:
                st.session_state.setdefault("_url_notes", []).append(f"{p.key}={raw[:40]!r}")
            else:
                v = parsed
        st.session_state[ck] = v
    return st.session_state[ck]


def _sync(key: str):
    st.session_state["cfg_" + key] = st.session_state["w_" + key]


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


def widget(p: Param, where=st, **kw):
    """Draw p's widget (in `where`) and return the canonical value — or, if teacher mode hides it, only the
    value (kept in the URL, so the view stays exact)."""
    v = _state(p)
    if not _fits(p, v):                    # e.g. set by another page under the same key, or a stale preset
        v = p.default
        st.session_state["cfg_" + p.key] = v
    elif p.kind == "float" and isinstance(v, int):
        v = float(v)
        st.session_state["cfg_" + p.key] = v
    if p.kind in ("int", "float") and not p.lo <= v <= p.hi:      # a range that depends on T may have shrunk
        v = min(max(v, p.lo), p.hi)
        st.session_state["cfg_" + p.key] = v
    elif p.kind == "choice" and v not in (kw.get("options") or p.options):
        v = p.default
        st.session_state["cfg_" + p.key] = v
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
        allowed = CELL_ACTIVATIONS[cell]
        if _state(P["act"]) not in allowed:            # e.g. switched to an LSTM while φ was ReLU
            st.session_state["cfg_act"] = allowed[0]
        widget(P["act"], st, options=allowed, disabled=len(allowed) == 1)
        for k in ("H", "T", "init", "scale_kind", "scale", "input", "seed", "target"):
            widget(P[k], st)
        with st.expander("Truncation", expanded=_state(P["scheme"]) != "full"):
            widget(P["scheme"], st)
            widget(P["k1"], st)
            widget(P["k2"], st)
            widget(P["keep"], st)
        widget(P["proj"], st)
        st.caption("Every setting is in the page's address: copy it to share this exact view.")
        st.session_state["_sidebar_end"] = st.container()       # filled at the end of the run (teacher mode)
    c = {k: st.session_state["cfg_" + k] for k in P}
    sc = Scenario(cell=c["cell"], activation=c["act"], hidden=c["H"], T=c["T"], init=c["init"],
                    scale_kind=c["scale_kind"], scale=c["scale"], input_scale=c["input"], seed=c["seed"],
                    target=c["target"], scheme=c["scheme"], k1=min(c["k1"], c["T"]),
                    k2=max(min(c["k2"], c["T"]), min(c["k1"], c["T"])), keep_prob=c["keep"])
    st.sidebar.download_button("⬇ this model (.npz)", lambda: model_bytes(sc.model(), {"scenario": sc.as_dict()}),
                               file_name="bptt_explorer_model.npz", mime="application/octet-stream",
                               on_click="ignore", key="model_npz",
                               help="the sidebar's network (its initial weights) as NumPy arrays with their "
                                    "PyTorch-style names; load it with explorer.persistence.load_model")
    return sc


def projector() -> bool:
    return bool(st.session_state.get("cfg_proj", False))


def notices(where=st):
    """Show (once) which link parameters were not understood."""
    notes = st.session_state.pop("_url_notes", [])
    if notes:
        where.info("This link had settings that are not valid here, so they were reset to their defaults: "
                + ", ".join(notes) + ".", icon="🔗")


def url_values() -> dict[str, str]:
    """Every setting used in this run that differs from its default, as the URL writes it."""
    used = st.session_state.get("_params_used", {})
    return {k: p.to_url(st.session_state["cfg_" + k]) for k, p in used.items()
            if st.session_state.get("cfg_" + k, p.default) != p.default}


def write_url():
    """Rewrite the address bar from the canonical values of every setting used in this run."""
    st.query_params.from_dict(url_values())
