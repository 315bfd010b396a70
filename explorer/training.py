"""Training: one record per update, from a `Trainer` whose whole state is explicit (so it can be paused, saved,
loaded and resumed, bit for bit).

Modes
- "epochwise": every update draws a fresh batch of independent sequences from the task and backpropagates
  under the chosen scheme (full BPTT, TBPTT(k1, k2) within each sequence, randomized truncation, or adaptive).
- scheme "adaptive" (Aicher, Foti & Fox, UAI 2019; explorer.adaptive_truncation): TBPTT(K, K) with K chosen from a
  tolerable relative bias δ. Every `adapt_every` updates (at updates 1, 1 + N, 1 + 2N, …), before that update, K is
  estimated again from the current model on a fresh batch of B sequences X (T, B, D) drawn from its own generator
  (so the training batches are the ones a fixed-K run with the same seed draws): the last step's loss ℓ_{T−1} is
  backpropagated once, φ_k = (1/B) Σ_b ‖∂ℓ_{T−1,b}/∂s_{T−k,b}‖ is fitted as φ_τ β^{k−τ}, and
      K = min { K : bound(K) / L < δ },   bound(K) ≥ ‖Σ_{k ≥ K} v_k‖,   L = max_K (‖Σ_{k<K} v_k‖ − bound(K)),
  else K = T (the whole sequence: full BPTT) when no K is certified (φ_k not decaying, or L ≤ 0). K is part of the
  trainer's state, and each record says the K its update used and whether it was estimated at that update.
- "online": one long stream per batch row (a text corpus), the state carried across updates, as min-char-rnn
  and most language models train. Every k1 steps the losses of those k1 steps are backpropagated k2 ≥ k1 steps
  (Williams & Peng's BPTT(k2; k1)): the window of the last k2 inputs is run forward from the carried state at its
  start, with the current weights, and only its last k1 steps carry a loss. TBPTT(25, 25) is min-char-rnn.

Stacks: `num_layers` L > 1 trains explorer.stacked's unidirectional stack (the readout reads the top layer) under
every scheme; online mode carries every layer's state s_t^{(l)} (an LSTM's [h; c] per layer) from one window to the
next, and adaptive truncation estimates K on the joint state [s_t^{(0)}; …; s_t^{(L−1)}] (`estimate_K`). ρ, σ₁ and
the ‖δ_t‖ snapshot are the top layer's.

Each update: loss per supervised step, the task's baseline, ‖g‖ before and after clipping, whether it clipped,
‖θ‖ per parameter, ρ and σ₁ of the recurrent matrix, and every `snapshot_every` updates the per-timestep
gradient norms ‖δ_t‖. A non-finite loss or gradient ends the run with a record saying at which update (and at
which step of the sequence the forward pass overflowed).
"""
from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, fields

import numpy as np

from . import clipping
from .adaptive_truncation import (
    adaptive_truncation,
    bias_bound,
    choose_K,
    fit_decay,
    lower_norm_bound,
    relative_bound_of,
    tau_rule,
    window_traces,
)
from .bptt import backward
from .forward import QUIET, Trace, forward
from .model import MAX_LAYERS, Model, build_model, model_from_params
from .norms import frobenius
from .npz_files import read_npz
from .optim import Optimizer, Schedule
from .torch_names import RecurrentWeights
from .truncation import TBPTT, Full, Randomized
from .validation import choice, finite_float, positive_int

MODES = ("epochwise", "online")
TRUNCATIONS = ("full", "tbptt", "randomized", "adaptive")
CLIPS = ("off", "norm", "value")
MAX_ADAPT_EVERY = 100_000
ADAPT_STREAM = 2          # adaptive: its batches come from default_rng((seed, 2)); training's from seed + 1


@dataclass(frozen=True)
class TrainConfig:
    cell: str = "lstm"
    hidden_size: int = 32
    num_layers: int = 1                 # L stacked layers (explorer.stacked): the readout reads the top one
    activation: str = "tanh"
    init: str = "orthogonal"
    scale: float | None = None          # ρ (or σ₁) of the recurrent weights at init; None keeps the init's
    scale_kind: str = "rho"             # what `scale` sets: "rho" (spectral radius) or "sigma1"
    forget_bias: float = 1.0
    input_gain: float = 1.0             # × the Xavier input weights (small: storing inputs must be learned)
    optimizer: str = "adam"
    lr: float = 1e-2
    schedule: str = "constant"
    clip: str = "off"                   # off by default: the lessons show why it is needed
    clip_threshold: float = 1.0
    mode: str = "epochwise"
    scheme: str = "full"                # truncation: epochwise only; online is always TBPTT(k1, k2)
    k1: int = 25
    k2: int = 25
    keep_prob: float = 0.9              # randomized truncation's π
    delta: float = 0.1                  # adaptive: tolerable relative bias δ ∈ (0, 1] of TBPTT(K, K) (Aicher et al.)
    adapt_every: int = 10               # adaptive: K estimated again every N updates (1: before every update)
    batch_size: int = 32
    seed: int = 0
    snapshot_every: int = 10            # ‖δ_t‖ snapshot every N updates (0: never)
    spectrum_every: int = 1             # ρ, σ₁ of W_hh every N updates (0: never)
    dtype: str = "float64"

    def __post_init__(self):
        choice("mode", self.mode, MODES)
        choice("scheme", self.scheme, TRUNCATIONS)
        choice("clip", self.clip, CLIPS)
        finite_float("clip_threshold", self.clip_threshold, low=0.0, low_open=True)
        positive_int("batch_size", self.batch_size, maximum=4096)
        positive_int("num_layers", self.num_layers, maximum=MAX_LAYERS)
        TBPTT(self.k1, self.k2)                                # checks k1 ≥ 1, k2 ≥ k1
        Randomized(self.keep_prob)
        finite_float("delta", self.delta, low=0.0, high=1.0, low_open=True)
        positive_int("adapt_every", self.adapt_every, maximum=MAX_ADAPT_EVERY)
        if self.scheme == "adaptive" and self.mode != "epochwise":
            raise ValueError("scheme 'adaptive' is for mode 'epochwise' (online mode is always TBPTT(k1, k2))")
        for name in ("snapshot_every", "spectrum_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{name} must be a whole number ≥ 0, got {v!r}")

    def truncation(self, seed: int = 0, K: int | None = None):
        """The scheme object (as Scenario.truncation): Full(), TBPTT(k1, k2), Randomized(keep_prob, seed), or for
        "adaptive" TBPTT(K, K) with the K in force (the Trainer's state.K)."""
        if self.scheme == "adaptive":
            if K is None:
                raise ValueError("scheme 'adaptive' needs the K in force (TrainState.K); none was estimated yet")
            return TBPTT(K, K)
        if self.scheme == "tbptt":
            return TBPTT(self.k1, self.k2)
        if self.scheme == "randomized":
            return Randomized(self.keep_prob, seed)
        return Full()

    def label(self) -> str:
        if self.mode == "online":
            return f"online TBPTT(k1={self.k1}, k2={self.k2})"
        if self.scheme == "adaptive":
            return f"adaptive TBPTT(K, K), δ = {self.delta:g}, K estimated every {self.adapt_every} updates"
        return self.truncation().label()


@dataclass
class StepRecord:
    step: int                       # 1-based update number
    loss: float                     # mean loss per supervised step
    baseline: float                 # the task's trivial baseline, same units
    grad_norm: float                # ‖g‖ before clipping (global, all parameters)
    grad_norm_clipped: float        # ‖g‖ after clipping
    clipped: bool
    lr: float
    param_norms: dict[str, float]
    rho: float                      # spectral radius of the recurrent matrix (NaN when not computed)
    sigma1: float                   # its largest singular value
    delta_norms: np.ndarray | None  # (T,) ‖δ_t‖ of this update, every snapshot_every updates
    finite: bool = True
    message: str | None = None      # set on the record that ends a run
    K: int | None = None            # adaptive: the K of the TBPTT(K, K) this update used (None for other schemes)
    K_estimated: bool = False       # adaptive: K was estimated again just before this update

    def as_row(self) -> dict:
        """A flat dict for a pandas DataFrame row (param norms as norm.<name>; the snapshot left out)."""
        # not asdict(): it deep-copies every field, the ‖δ_t‖ snapshot included (99 ms for a 5000-update history)
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("param_norms", "delta_norms")}
        row.update({f"norm.{k}": v for k, v in self.param_norms.items()})
        return row


@dataclass
class TrainState:
    model: Model
    optimizer: Optimizer
    rng: np.random.Generator
    step: int = 0
    stream_pos: int = 0                        # online: index of the next unseen step
    carry: np.ndarray | None = None            # online: state at the start of the next window, (B, S); (L, B, S)
                                               # for a stack, every layer's (Trace.state_at)
    stopped: str | None = None
    K: int | None = None                       # adaptive: the K in force (None before the first estimate)
    adapt_rng: np.random.Generator | None = None   # adaptive: draws the batches K is estimated on


class Trainer:
    """trainer = Trainer(task, TrainConfig(...)); for rec in trainer.run(100): ...  (pause = stop iterating)."""

    note: str | None = None           # from_weights: what was loaded, and whether the readout is fresh

    def __init__(self, task, config: TrainConfig = TrainConfig(), *, state: TrainState | None = None):
        self.task, self.config = task, config
        if config.mode == "online" and not hasattr(task, "corpus"):
            raise ValueError(f"mode 'online' needs a stream task (text); task {task.name!r} draws independent "
                             "sequences, use mode 'epochwise'")
        if state is None:
            model = build_model(config.cell, task.input_size, config.hidden_size, task.output_size,
                                activation=config.activation, init=config.init, scale=config.scale,
                                scale_kind=config.scale_kind,
                                forget_bias=config.forget_bias, input_gain=config.input_gain,
                                seed=config.seed, dtype=config.dtype, num_layers=config.num_layers)
            opt = Optimizer(config.optimizer, config.lr, Schedule(config.schedule))
            state = TrainState(model, opt, np.random.default_rng(config.seed + 1))
        if config.scheme == "adaptive" and getattr(task, "T", None) is None:
            raise ValueError(f"scheme 'adaptive' needs sequences that all end at step T (K is estimated from the "
                             f"loss there); task {task.name!r} has sequences of different lengths")
        if state.adapt_rng is None:                   # its own stream: the training batches stay a fixed-K run's
            state.adapt_rng = np.random.default_rng((config.seed, ADAPT_STREAM))
        self.state = state
        self.baseline = float(task.baseline)          # computed once: for text it is a pass over the corpus

    @property
    def model(self) -> Model:
        return self.state.model

    def run(self, n_updates: int | None = None):
        """Yield one StepRecord per update, n_updates of them (None: until stopped)."""
        i = 0
        while (n_updates is None or i < n_updates) and self.state.stopped is None:
            yield self.step()
            i += 1

    # --- one update ------------------------------------------------------------------------------------------
    def _batch(self):
        cfg, st = self.config, self.state
        if cfg.mode == "epochwise":
            b = self.task.batch(cfg.batch_size, st.rng)
            return b.X, b.targets, b.mask, None, cfg.truncation(int(st.rng.integers(2 ** 31)), K=st.K)
        ids = self.task.corpus.ids
        V = self.task.corpus.vocab.size
        B, k1, k2 = cfg.batch_size, cfg.k1, cfg.k2
        n = len(ids)
        span = n // B                                         # each row reads its own contiguous slice
        if span < k1 + 1:
            raise ValueError(f"the corpus ({n} chars) is too short for batch_size={B} streams of k1={k1} steps")
        if st.carry is None or st.stream_pos + k1 + 1 >= span:
            st.stream_pos, st.carry = 0, None                 # start (or wrap around): fresh state, like min-char-rnn
        p = st.stream_pos
        w0 = max(0, p + k1 - k2)
        offs = np.arange(B) * span
        idx = offs[None, :] + np.arange(w0, p + k1 + 1)[:, None]      # (W+1, B)
        win = ids[idx]
        X = np.zeros(win[:-1].shape + (V,))
        np.put_along_axis(X, win[:-1, :, None], 1.0, axis=-1)
        mask = np.zeros(win[:-1].shape)
        mask[p - w0:] = 1.0                                  # only the k1 new steps carry a loss
        return X, win[1:], mask, (w0, p), Full()

    def step(self) -> StepRecord:
        cfg, st = self.config, self.state
        if st.stopped is not None:
            raise RuntimeError(f"this run has stopped: {st.stopped}")
        adaptive = cfg.scheme == "adaptive"
        estimated = adaptive and (st.K is None or st.step % cfg.adapt_every == 0)
        if estimated:
            st.K = estimate_K(st.model, self.task, st.adapt_rng, delta=cfg.delta, batch_size=cfg.batch_size)
        X, y, mask, online, scheme = self._batch()
        model = st.model
        s0 = None
        if online is not None and st.carry is not None:
            s0 = st.carry
        trace = forward(model, X, y, loss=self.task.loss, mask=mask, s0=s0)
        rec = backward(trace, scheme)
        st.step += 1
        sup = float(mask.sum())
        loss = float(trace.losses.sum() / sup) if sup else float("nan")
        grads = rec.grads
        if cfg.clip == "norm":
            c = clipping.clip_by_global_norm(grads, cfg.clip_threshold)
        elif cfg.clip == "value":
            c = clipping.clip_by_value(grads, cfg.clip_threshold)
        else:
            n = clipping.global_norm(grads)
            c = clipping.ClipResult(grads, n, n, False, bool(np.isfinite(n)))
        finite = bool(np.isfinite(loss)) and c.finite and trace.overflow_step is None
        message = None
        lr = float("nan")                                     # no update: no rate applied
        if not finite:
            where = (f" (the forward pass overflowed at step {trace.overflow_step} of the sequence)"
                     if trace.overflow_step is not None else "")
            message = f"stopped at update {st.step}: the loss or gradient became non-finite{where}"
            st.stopped = message
        else:
            lr = st.optimizer.step(model.params, c.grads)     # the rate this update used
            if online is not None:
                w0, p = online
                nxt = max(0, p + 2 * cfg.k1 - cfg.k2)         # start of the next window
                # every layer's state (a stack's lower layers too: carrying the top one alone would restart them
                # from zeros at every window)
                st.carry = trace.state_at(nxt - w0).copy()
                st.stream_pos = p + cfg.k1
        rho = sigma1 = float("nan")
        with np.errstate(over="ignore", invalid="ignore"):       # huge but finite weights: norms may be inf
            W = model.recurrent_matrix()
            if finite and cfg.spectrum_every and st.step % cfg.spectrum_every == 0 and np.isfinite(W).all():
                rho = float(np.max(np.abs(np.linalg.eigvals(W))))
                sigma1 = float(np.linalg.norm(W, 2))
            norms = {k: float(np.linalg.norm(v)) for k, v in model.params.items()}
        snap = rec.delta_norms if (cfg.snapshot_every and st.step % cfg.snapshot_every == 0) else None
        return StepRecord(st.step, loss, self.baseline, c.norm_before, c.norm_after, c.clipped, lr, norms, rho,
                          sigma1, snap, finite, message, st.K if adaptive else None, estimated)

    # --- save / resume ---------------------------------------------------------------------------------------
    def state_bytes(self) -> bytes:
        """Everything needed to resume (not the task itself): an .npz of arrays plus a JSON header."""
        st = self.state
        arrays = {f"param.{k}": v for k, v in st.model.params.items()}
        arrays.update({f"opt.{k}": v for k, v in st.optimizer.state.items() if k != "t"})
        if st.carry is not None:
            arrays["carry"] = st.carry
        header = dict(config=asdict(self.config), model_config=st.model.config, step=st.step,
                      stream_pos=st.stream_pos, stopped=st.stopped, opt_t=st.optimizer.t,
                      rng=st.rng.bit_generator.state, task=self.task.name, K=st.K,
                      adapt_rng=st.adapt_rng.bit_generator.state)
        arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()

    @classmethod
    def from_model(cls, task, config: TrainConfig, model: Model) -> "Trainer":
        """A fresh run that starts from given weights (e.g. a model .npz downloaded earlier), after checking that
        they fit the task and the configuration (ValueError saying what differs)."""
        _check_fits(task, config, dict(cell=model.cell.kind, activation=model.cell.activation, H=model.hidden_size,
                                       L=model.num_layers, bidirectional=model.bidirectional, D=model.input_size,
                                       O=model.output_size), "this model does not fit")
        model = model.copy()
        opt = Optimizer(config.optimizer, config.lr, Schedule(config.schedule))
        state = TrainState(model, opt, np.random.default_rng(config.seed + 1))
        return cls(task, config, state=state)

    @classmethod
    def from_weights(cls, task, config: TrainConfig, weights: RecurrentWeights) -> "Trainer":
        """A fresh run from a torch layer's recurrent weights (torch_names.load_recurrent_weights), checked against
        the task and configuration like from_model. The readout is the file's when it has the task's O outputs,
        else a fresh one initialised exactly as build_model does with config.seed; `trainer.note` says which."""
        _check_fits(task, config, dict(cell=weights.cell, activation=weights.activation, H=weights.hidden_size,
                                       L=1, D=weights.input_size), "these weights do not fit")   # one torch layer
        trainer = cls(task, config)                       # its model holds the seeded fresh readout
        fresh = trainer.model.params
        note = f"Started from {weights.description}."
        readout = weights.readout
        if readout is not None and readout[0].shape[0] != task.output_size:
            note = (f"Started from {weights.description}, but that readout has O = {readout[0].shape[0]} outputs "
                    f"and this task needs {task.output_size}: a fresh readout is used instead.")
            readout = None
        if readout is None:
            readout = (fresh["W_hy"], fresh["b_y"])
        trainer.state.model = weights.to_model(readout, dtype=config.dtype)
        trainer.note = note
        return trainer

    @classmethod
    def from_state_bytes(cls, task, data: bytes) -> "Trainer":
        """Resume a run saved with state_bytes (the same task object must be supplied)."""
        arrays = read_npz(data, "not a saved training state")
        try:
            header = json.loads(arrays.pop("__header__").tobytes().decode())
        except (KeyError, ValueError, UnicodeDecodeError) as e:
            raise ValueError(f"not a saved training state (no readable header: {type(e).__name__})") from None
        if header.get("task") != task.name:
            raise ValueError(f"this state was saved for task {header.get('task')!r}, not {task.name!r}")
        saved = dict(header["config"])
        if "truncation" in saved:                      # states saved before the field was named `scheme`
            saved["scheme"] = saved.pop("truncation")
        cfg = TrainConfig(**saved)                     # states saved before num_layers existed: one layer, its default
        mc = header["model_config"]
        params = {k[6:]: v for k, v in arrays.items() if k.startswith("param.")}
        model = model_from_params(mc["cell"], params, activation=mc["activation"], dtype=mc["dtype"])
        if model.num_layers != cfg.num_layers or model.bidirectional:
            raise ValueError(f"not a saved training state: its parameters are those of {model.num_layers} "
                             f"layer(s){' (bidirectional)' if model.bidirectional else ''}, its configuration says "
                             f"num_layers={cfg.num_layers}")
        model.config = mc
        opt = Optimizer(cfg.optimizer, cfg.lr, Schedule(cfg.schedule),
                        state={k[4:]: v for k, v in arrays.items() if k.startswith("opt.")})
        opt.state["t"] = header["opt_t"]
        rng = np.random.default_rng()
        rng.bit_generator.state = header["rng"]
        st = TrainState(model, opt, rng, header["step"], header["stream_pos"], arrays.get("carry"),
                        header["stopped"], K=header.get("K"))
        if header.get("adapt_rng") is not None:        # states saved before adaptive truncation have none
            st.adapt_rng = np.random.default_rng()
            st.adapt_rng.bit_generator.state = header["adapt_rng"]
        return cls(task, cfg, state=st)


def estimate_K(model: Model, task, rng: np.random.Generator, *, delta: float, batch_size: int) -> int:
    """Aicher et al.'s K for `model` now: a fresh batch of `batch_size` sequences X (T, B, D) from `task` (drawn with
    `rng`), the last step's loss ℓ_{T−1} backpropagated once (explorer.adaptive_truncation, measure=False), and
    K = the smallest K whose relative bias bound(K) / L is below δ, else the window's length (T, or the steps before
    a forward overflow; 1 when even the first step overflows: the update that follows stops the run). A stack's K
    is estimated on its joint state (`joint_state_K`)."""
    b = task.batch(batch_size, rng)
    trace = forward(model, b.X, b.targets, loss=task.loss, mask=b.mask)
    if trace.valid_T < 1:
        return 1
    if model.stacked:
        return joint_state_K(trace, delta)
    return adaptive_truncation(trace, delta=delta, measure=False).K


def joint_state_K(trace: Trace, delta: float) -> int:
    """Aicher et al.'s K (explorer.adaptive_truncation, steps 1–5, measure=False) for a unidirectional stack, on its
    joint state s_t = [s_t^{(0)}; …; s_t^{(L−1)}] (L·S wide): the state that carries the stack from step to step,
    and the one TBPTT(K, K) cuts, at every layer at once. So
        v_k = (1/B) Σ_b ∂ℓ_{T−1,b}/∂s_{T−k,b}      φ_k = (1/B) Σ_b ‖∂ℓ_{T−1,b}/∂s_{T−k,b}‖
    take every layer's adjoint (adaptive_truncation itself reads the top layer's alone, and a lower layer's can
    decay more slowly). For one layer this is adaptive_truncation(trace, delta=δ, measure=False).K exactly."""
    last, _ = window_traces(trace)
    if last.valid_T < last.T:          # the last loss itself overflowed: the window is what stays finite
        last, _ = window_traces(last)
    S = last.T
    rec = backward(last)
    with np.errstate(**QUIET):
        # (S, B, L·S_state) by lag: every layer's ∂ℓ_{t,b}/∂s (the engine's adjoints carry the 1/B)
        d = np.concatenate([runs[0].delta[:S] for runs in rec.runs], axis=-1)[::-1] * last.B
        phi = frobenius(d, axis=2).mean(axis=1)
        cum = frobenius(np.cumsum(d.mean(axis=1), axis=0), axis=1)
    tau = tau_rule(S)
    bound = bias_bound(phi, tau, fit_decay(phi, tau)[0])
    return choose_K(relative_bound_of(bound, lower_norm_bound(cum, bound)), delta)


def reach(task) -> dict[str, int]:
    """What TBPTT(K, K) (chunks [jK, (j+1)K), no gradient across a boundary) must keep to learn the task, in steps:
    "T" (K ≥ T is full BPTT) and, for the copy task, "link" = lag + n_symbols, the distance from each symbol to its
    recall: with K ≤ link no backward window holds a symbol and its recall; for link < K < T some do, depending on
    where the chunk boundaries fall (the final window reaches K steps back from T); K ≥ T links all of them.
    Empty for tasks without a fixed T."""
    T = getattr(task, "T", None)
    if T is None:
        return {}
    out = {"T": int(T)}
    if hasattr(task, "lag") and hasattr(task, "n_symbols"):
        out["link"] = int(task.lag + task.n_symbols)
    return out


def _check_fits(task, config: TrainConfig, got: dict, what: str) -> None:
    """ValueError "<what> the current setup: H 8 (the lab has 16), …" when `got` (cell, activation, H, L layers, D
    and possibly bidirectional and O) differs from what the configuration and the task need."""
    want = dict(cell=config.cell, activation=config.activation, H=config.hidden_size, L=config.num_layers,
                bidirectional=False, D=task.input_size, O=task.output_size)
    diff = [f"{k} {got[k]} (the lab has {want[k]})" for k in got if got[k] != want[k]]
    if diff:
        raise ValueError(f"{what} the current setup: " + ", ".join(diff) + ". Pick the same cell, activation, "
                         "H and Layers in the sidebar, and the task it was trained on.")


def summarize(records: list[StepRecord], config: TrainConfig, task) -> str:
    """One sentence on how a run went, e.g. "TBPTT(k1=10, k2=10): loss stayed at the baseline 0.59"."""
    if not records:
        return "No updates yet."
    last = records[-1]
    if not last.finite:
        return last.message or "The run stopped on a non-finite value."
    tail = [r.loss for r in records[-max(1, len(records) // 10):]]
    loss = float(np.mean(tail))
    base = last.baseline
    lag = getattr(task, "lag", None)
    why = ""
    if config.mode == "epochwise" and config.scheme == "tbptt" and lag is not None and config.k2 < lag:
        why = f" (k2={config.k2} < lag {lag}: the gradient cannot reach the symbols)"
    ks = [r.K for r in records if r.K is not None]
    if config.scheme == "adaptive" and ks:
        span = f"K = {ks[-1]}" + (f" (between {min(ks)} and {max(ks)} over the run)" if min(ks) < max(ks) else
                                  " at every update")
        link = reach(task).get("link")
        why = f"; {span}" + (f", at most {link} = lag + symbols: no output can reach its symbol"
                             if link is not None and max(ks) <= link else "")
    if loss < 0.8 * base:
        verdict = f"loss fell to {loss:.3g}, {100 * (1 - loss / base):.0f}% below the baseline {base:.3g}"
    elif loss <= 1.05 * base:
        verdict = f"loss stayed at the baseline {base:.3g} ({loss:.3g})"
    else:
        verdict = f"loss is {loss:.3g}, above the baseline {base:.3g}"
    return f"{config.label()}: {verdict} after {last.step} updates{why}."

