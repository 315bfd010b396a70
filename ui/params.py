"""Every setting of the app in one table: its URL name, type, default and range (or options), label and help.

- The shared settings (the sidebar's) are the fields of `explorer.scenario.Scenario`: their defaults, ranges,
  options and URL names are read from its field metadata, so they are written once; this module adds the label,
  the help text and the slider step.
- A page's own settings (the cliff, the lab, the race, the cost page) are declared here too, by page; the few whose
  range depends on the Scenario (a step in 0 … T − 1) are functions of it.
- The session state and the URL are kept in step by `ui.url_state`; the sidebar is drawn by `ui.sidebar`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields

from explorer import tasks
from explorer.scenario import Scenario, url_name


@dataclass(frozen=True)
class Param:
    key: str                       # the URL name, and the session-state key (cfg_<key>)
    label: str
    kind: str                      # "int" | "float" | "choice" | "bool" | "keys" (comma-separated setting names) |
                                   # "token" (an id or a key: 6–64 of A-Z a-z 0-9 _ -)
    default: object
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    options: tuple = ()
    help: str | None = None
    aliases: tuple = ()            # (old URL value, value) pairs a link may still hold

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
            if self.kind == "token":
                return raw if re.fullmatch(r"[A-Za-z0-9_-]{6,64}", raw) else None
            if self.kind == "keys":
                keys = [k for k in raw.split(",") if k]
                ok = len(raw) <= 400 and all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,30}", k) for k in keys)
                return ",".join(sorted(set(keys))) if ok else None
            raw = dict(self.aliases).get(raw, raw)
            return raw if raw in self.options else None
        except (ValueError, TypeError):
            return None

    def to_url(self, v) -> str:
        if self.kind == "bool":
            return "1" if v else "0"
        if self.kind == "float":
            return f"{v:g}"
        return str(v)


# Display labels of option values (a selectbox shows these; the URL and the state hold the keys).
LABELS = {"rho": "ρ (spectral radius)", "sigma1": "σ₁ (largest singular value)", "full": "full BPTT",
          "tbptt": "TBPTT(k1, k2)", "randomized": "randomized truncation", "adding": "adding problem",
          "copy": "copy with a lag", "last_squared": "last step, squared error",
          "every_squared": "every step, squared error", "every_cross_entropy": "every step, cross-entropy",
          "every": "a loss at every step", "sidebar": "the sidebar's loss",
          "sidebar_scheme": "the sidebar's truncation", "adaptive": "adaptive (δ)"}

# The sidebar's settings: label, slider step and help for each Scenario field (in the sidebar's order).
_SIDEBAR = {
    "cell": ("Cell", None, "rnn: h_t = φ(W_xh x_t + W_hh h_{t−1} + b); lstm, gru: gated (PyTorch's form); indrnn: "
                           "u ⊙ h_{t−1}"),
    "activation": ("Activation φ", None, None),
    "hidden": ("Hidden units H", 1, None),
    "layers": ("Layers L (stacked)", 1, "L recurrent layers, each reading the one below (layer 0 reads x_t); the "
                                        "readout reads the top one, h_t^(L−1). Every layer is drawn and scaled "
                                        "the same way"),
    "T": ("Sequence length T", 1, None),
    "init": ("W_hh initialisation", None, None),
    "scale_kind": ("Scale W_hh by", None, "rho: spectral radius ρ = max|λ|; sigma1: largest singular value σ₁"),
    "scale": ("Scale (ρ or σ₁)", 0.05, None),
    "input_scale": ("Input scale", 0.1, "x_t ∼ N(0, s²)"),
    "seed": ("Seed", 1, None),
    "target": ("Loss", None, None),
    "scheme": ("Truncation", None, "full BPTT; TBPTT(k1, k2): every k1 steps backprop k2 ≥ k1 steps; randomized: "
                                   "cut each step with probability 1 − π and rescale by 1/π"),
    "k1": ("k1 (steps per update)", 1, None),
    "k2": ("k2 (steps back, ≥ k1)", 1, None),
    "keep_prob": ("π (keep probability)", 0.05, None),
}
# Links written before the loss was stored by key hold its label.
_ALIASES = {"target": tuple((label, key) for key, label in LABELS.items() if key.startswith(("last_", "every_")))}


def _from_scenario(f) -> Param:
    label, step, help_ = _SIDEBAR[f.name]
    m = f.metadata
    kind = {"int": "int", "float": "float"}.get(f.type, "choice")
    return Param(url_name(f), label, kind, f.default, m["lo"], m["hi"], step, tuple(m["options"]), help_,
                 _ALIASES.get(f.name, ()))


SCENARIO = tuple(_from_scenario(f) for f in fields(Scenario))
PROJECTOR = Param("proj", "Projector mode (larger text)", "bool", False)
SHARED = SCENARIO + (PROJECTOR,)
BY_KEY = {p.key: p for p in SHARED}

# In the URL, not drawn as widgets: the guided tour's stop (0 = no tour), teacher mode's hidden controls, the
# lab's kept training run.
TOUR_STOP = Param("tour", "Guided tour stop", "int", 0, 0, 99, 1)
HIDE = Param("hide", "Controls hidden from students", "keys", "")
RUN = Param("run", "Training run kept on the server", "keys", "")
QUESTION = Param("q", "Class question", "token", "")              # predict, then reveal (ui.predict)
TEACHER_KEY = Param("qt", "Teacher key of the class question", "token", "")
META = (TOUR_STOP, HIDE)


# ---- each page's own settings -------------------------------------------------------------------------------

def unroll_end(T: int, width: int) -> Param:
    """Lesson 1: the last step drawn, when T is longer than the `width` steps the graph shows."""
    return Param("end", "Show the steps up to", "int", T, width, T, 1)


def unroll_step(T: int, end: int) -> Param:
    """Lesson 1: the step whose numbers are written out."""
    return Param("step", "Step t", "int", min(end - 1, T - 2) if T > 1 else 0, 0, T - 1, 1)


GMAP = Param("gmap", "Losses in the G map", "choice", "every", options=("every", "sidebar"),
             help="the sidebar's loss has a target at the last step only, so its G map is one row; 'every step' "
                  "puts a loss at every step of the same network and sequence")

# Lesson 4's adaptive truncation (Aicher, Foti & Fox 2019): the relative bias the rule may leave in TBPTT(K, K).
ADAPTIVE_DELTA = Param("delta", "Tolerable relative bias δ", "float", 0.1, 0.005, 0.5, 0.005,
                       help="the rule picks the smallest K whose bound on TBPTT(K, K)'s relative bias is below δ")

CLIFF = (Param("w0", "start w", "float", 4.5, 0.0, 10.0, 0.1), Param("b0", "start b", "float", -2.6, -6.0, 1.0, 0.1),
         Param("cliff_lr", "learning rate", "float", 0.5, 0.05, 5.0, 0.05),
         Param("cliff_n", "steps", "int", 40, 5, 200, 5),
         Param("cliff_clip", "clip threshold", "float", 1.0, 0.1, 10.0, 0.1))

LAB = (Param("task", "Task", "choice", "copy", options=tuple(tasks.TASKS) + ("text",)),
       Param("size", "Lag (copy) / length T (other tasks)", "int", 15, 2, 200, 1),
       Param("opt", "Optimizer", "choice", "adam", options=("adam", "rmsprop", "adagrad", "momentum", "sgd")),
       Param("lr", "Learning rate", "choice", "0.01",
             options=("0.0003", "0.001", "0.003", "0.01", "0.03", "0.1", "0.3")),
       Param("clip", "Gradient clipping", "choice", "norm", options=("off", "norm", "value")),
       Param("theta", "Clipping threshold θ", "float", 1.0, 0.1, 20.0, 0.1),
       Param("B", "Batch size", "int", 32, 1, 128, 1),
       Param("corpus", "Corpus (text task)", "choice", "python-docs", options=tasks.BUILTIN_CORPORA + ("upload",)))

# The lab's truncation: the sidebar's scheme, or adaptive (δ) — TBPTT(K, K) with K from Aicher et al.'s rule, estimated
# again every N updates (explorer.training's scheme "adaptive"); δ is lesson 4's setting (ADAPTIVE_DELTA).
LAB_ADAPTIVE = (Param("lab_scheme", "Truncation in the lab", "choice", "sidebar_scheme",
                      options=("sidebar_scheme", "adaptive"),
                      help="the sidebar's truncation scheme, or adaptive (δ): TBPTT(K, K) with the smallest K whose "
                           "bound on the relative bias is below δ, estimated again from the current network"),
                ADAPTIVE_DELTA,
                Param("adapt_every", "Estimate K again every … updates", "int", 10, 1, 200, 1,
                      help="before every N-th update, K is estimated on a fresh batch from the network as it is then"))
# The race on the lab page: adaptive (δ) against two fixed TBPTT(K, K) on the copy task.
K_RACE = (Param("kr_lag", "Copy task: lag", "int", 15, 5, 60, 1),
          Param("kr_short", "Short fixed K", "int", 10, 1, 100, 1),
          Param("kr_long", "Long fixed K", "int", 25, 1, 100, 1),
          Param("kr_n", "Updates per contender", "int", 500, 50, 3000, 50))

RACE = (Param("race_task", "Race task", "choice", "adding", options=("adding", "copy")),
        Param("race_len", "Length T (adding) / lag (copy)", "int", 50, 5, 200, 5),
        Param("race_n", "Updates per contender", "int", 400, 50, 3000, 50))


def loss_step(T: int) -> Param:
    """Lesson 6's bidirectional network: the one step that carries a loss."""
    return Param("at", "Step carrying the loss", "int", T // 2, 0, T - 1, 1)


COST = (Param("costH", "H for the T sweep and the trade-off", "int", 32, 8, 256, 8),
        Param("costT", "T for the H sweep and the agreement table", "int", 50, 10, 200, 10))


def memory_budget(T: int, least: int) -> Param:
    """Lesson 7: checkpointing's budget of stored steps, from the least any L needs to T + 1 (store everything)."""
    return Param("budget", f"Memory budget (stored steps, T = {T})", "int", least, least, T + 1, 1,
                 help=f"≥ {least} = min over L of ⌈T/L⌉ + L ≈ 2√T; {T + 1} = store everything (plain BPTT)")


SCHEDULE_T = 30                     # lesson 7: the length of the optimal checkpointing schedule it draws
SCHEDULE_SLOTS = Param("slots", f"Slots m of the drawn schedule (T = {SCHEDULE_T})", "int", 4, 1, SCHEDULE_T - 1, 1,
                       help="stored states, s_0's included; from T − 1 slots on every state the backward pass needs "
                            "stays stored (each step runs forward twice)")


ONLINE = (Param("leak", "Leak α (1 = the app's RNN)", "float", 1.0, 0.05, 1.0, 0.05,
                help="h_t = (1 − α) h_{t−1} + α φ(W_hh h_{t−1} + W_xh x_t + b); every chart of the page uses it"),
          Param("seeds", "Seeds (networks and sequences)", "int", 8, 1, 32, 1),
          Param("window", "TBPTT window k (steps)", "int", 4, 1, 50, 1),
          Param("copy_lag", "Copy task: lag", "int", 8, 2, 20, 1),
          Param("online_n", "Updates per rule", "int", 600, 100, 3000, 100))


# Each page's own settings with a fixed range, by the page's URL slug (the ones that depend on T are the functions
# above: unroll_end, unroll_step on Unrolled_graph, loss_step on Architectures, memory_budget on Cost_of_a_gradient).
BY_PAGE = {"Gradient_flow": (GMAP,), "Truncation": (ADAPTIVE_DELTA,), "Vanishing_and_exploding": CLIFF, "Training_lab": LAB + LAB_ADAPTIVE + K_RACE, "Architectures": RACE, "Cost_of_a_gradient": COST + (SCHEDULE_SLOTS,), "Online_learning": ONLINE}


def by_key(table) -> dict[str, Param]:
    return {p.key: p for p in table}
