"""Training stacked networks (issue #17, "training in the lab"): a Trainer with num_layers = L > 1 takes exactly the
step explorer.bptt gives on the stacked model, under every scheme; the gradient it applies is the finite-difference
derivative of the loss it truncates; online TBPTT carries every layer's state from one window to the next; a
stacked run saves and resumes bit for bit, and states saved before num_layers existed still load as one layer.
Then the lab page (AppTest) training the sidebar's two layers."""
import io
import json

import numpy as np
import pytest
from test_training_lab import button, lab, open_lab

import explorer as ex
from explorer import clipping, tasks
from explorer.adaptive_truncation import adaptive_truncation
from explorer.optim import Optimizer, Schedule
from explorer.persistence import load_model, model_bytes
from explorer.sampling import sample
from explorer.training import TrainConfig, Trainer, joint_state_K
from explorer.truncation import TBPTT
from ui import lab_store
from ui import training_lab as tl

COPY = tasks.CopyTask(4, n_symbols=2, alphabet=3)                 # T = 8, D = 5, O = 4, cross-entropy
ADDING = tasks.AddingTask(8)                                      # T = 8, D = 2, O = 1, squared error
STREAM = tasks.TextTask(tasks.builtin_corpus("counting", size=3000), T=10)


def config(**kw) -> TrainConfig:
    base = dict(cell="lstm", hidden_size=5, num_layers=2, batch_size=4, scheme="tbptt", k1=3, k2=5, keep_prob=0.7,
                optimizer="adam", lr=0.01, clip="norm", clip_threshold=0.5, snapshot_every=1)
    return TrainConfig(**{**base, **kw})


def rng_copy(rng: np.random.Generator) -> np.random.Generator:
    out = np.random.default_rng()
    out.bit_generator.state = rng.bit_generator.state
    return out


def captured_grads(trainer: Trainer) -> list[dict]:
    """The gradients the trainer hands its optimizer, one dict per update (what a step applies, after clipping)."""
    seen, step = [], trainer.state.optimizer.step

    def recording(params, grads):
        seen.append({k: v.copy() for k, v in grads.items()})
        return step(params, grads)

    trainer.state.optimizer.step = recording
    return seen


# ── one step is explorer.bptt's step ──────────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("scheme", ["full", "tbptt", "randomized", "adaptive"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("L", [1, 2, 3])
def test_a_training_step_is_the_manual_bptt_step_on_the_stacked_model(L, cell, scheme):
    """L = 1 too: the single-layer engine's step, parameter names without a layer suffix."""
    cfg = config(cell=cell, num_layers=L, scheme=scheme)
    tr = Trainer(COPY, cfg)
    assert tr.model.num_layers == L and tr.model.stacked == (L > 1) and cfg.dtype == "float64"
    rec = tr.step()

    # by hand: the same seeded stack, batch and scheme, explorer.bptt, clipping and the optimizer
    model = ex.build_model(cell, COPY.input_size, cfg.hidden_size, COPY.output_size, num_layers=L, seed=cfg.seed)
    rng = np.random.default_rng(cfg.seed + 1)
    b = COPY.batch(cfg.batch_size, rng)
    seed = int(rng.integers(2 ** 31))
    truncation = TBPTT(rec.K, rec.K) if scheme == "adaptive" else cfg.truncation(seed)
    if scheme == "adaptive":
        assert rec.K_estimated and 1 <= rec.K <= COPY.T
    g = ex.bptt(model, b.X, b.targets, loss=COPY.loss, mask=b.mask, scheme=truncation)
    c = clipping.clip_by_global_norm(g.grads, cfg.clip_threshold)
    lr = Optimizer(cfg.optimizer, cfg.lr, Schedule(cfg.schedule)).step(model.params, c.grads)

    assert rec.loss == float(g.trace.losses.sum() / b.mask.sum())
    assert (rec.grad_norm, rec.grad_norm_clipped, rec.clipped, rec.lr) == (c.norm_before, c.norm_after, c.clipped, lr)
    assert set(tr.model.params) == set(model.params)
    assert any(k.endswith(f"_l{L - 1}") for k in model.params) == (L > 1)
    worst = max(float(np.max(np.abs(tr.model.params[k] - v))) for k, v in model.params.items())
    assert worst <= 1e-12, worst
    np.testing.assert_array_equal(rec.delta_norms, g.delta_norms)      # the top layer's ‖δ_t‖
    W = model.recurrent_matrix()                                          # the top layer's
    assert rec.rho == float(np.max(np.abs(np.linalg.eigvals(W))))


# ── the gradient a step applies is the derivative of the loss it truncates ───────────────────────────────────────

def truncated_loss(model, params, X, y, mask, loss, windows, starts) -> float:
    """Σ_w (1/B) Σ_{t = loss_lo … hi} Σ_b m_{t,b} ℓ_{t,b}: each window's losses, run from its first step lo with the
    state there held at `starts[w]` (all layers') — the function whose exact gradient TBPTT is."""
    m = model.copy()
    m.params = params
    total = 0.0
    for w, s in zip(windows, starts):
        wm = mask[w.lo:w.hi + 1].copy()
        wm[:w.loss_lo - w.lo] = 0.0
        total += ex.forward(m, X[w.lo:w.hi + 1], y[w.lo:w.hi + 1], loss=loss, mask=wm, s0=s).loss
    return total


def central_differences(f, params, eps=1e-6) -> dict:
    out = {}
    for name, w in params.items():
        d = np.zeros_like(w)
        for i in np.ndindex(w.shape):
            vals = []
            for sgn in (1, -1):
                p = {k: v.copy() for k, v in params.items()}
                p[name][i] += sgn * eps
                vals.append(f(p))
            d[i] = (vals[0] - vals[1]) / (2 * eps)
        out[name] = d
    return out


@pytest.mark.parametrize("scheme", ["full", "tbptt"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_gradient_a_stacked_step_applies_is_the_finite_difference_gradient(cell, scheme):
    cfg = config(cell=cell, hidden_size=3, num_layers=2, scheme=scheme, batch_size=3, clip="off", optimizer="sgd")
    tr = Trainer(ADDING, cfg)
    before = tr.model.copy()
    rng = rng_copy(tr.state.rng)
    b = ADDING.batch(cfg.batch_size, rng)
    seen = captured_grads(tr)
    tr.step()
    g = seen[0]

    truncation = cfg.truncation()
    windows = truncation.windows(ADDING.T)
    assert len(windows) == (1 if scheme == "full" else 3)
    trace = ex.forward(before, b.X, b.targets, loss=ADDING.loss, mask=b.mask)
    starts = [trace.state_at(w.lo) for w in windows]                   # (L, B, S): every layer's state at lo
    fd = central_differences(lambda p: truncated_loss(before, p, b.X, b.targets, b.mask, ADDING.loss, windows,
                                                      starts), before.params)
    flat = np.concatenate([g[k].ravel() for k in fd])
    ref = np.concatenate([fd[k].ravel() for k in fd])
    rel = np.linalg.norm(flat - ref) / np.linalg.norm(ref)
    assert rel <= 1e-6, rel
    if scheme == "tbptt":        # the control: the untruncated gradient is another one, so this test can fail
        full = ex.backward(trace).grads
        assert np.linalg.norm(np.concatenate([full[k].ravel() for k in fd]) - ref) > 1e-4 * np.linalg.norm(ref)


# ── online TBPTT carries every layer's state ────────────────────────────────────────────────────────────────────

def stream(task, steps: int, B: int):
    """Every row's stream (inputs one-hot, targets) for its first `steps` steps, as the online trainer reads them."""
    ids = task.corpus.ids
    span = len(ids) // B
    idx = np.arange(B)[None, :] * span + np.arange(steps + 1)[:, None]
    win = ids[idx]
    X = np.zeros(win[:-1].shape + (task.input_size,))
    np.put_along_axis(X, win[:-1, :, None], 1.0, axis=-1)
    return X, win[1:]


@pytest.mark.parametrize("k1,k2", [(5, 5), (4, 7)])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_online_tbptt_carries_every_layers_state_as_one_forward_over_the_whole_stream(cell, k1, k2):
    """With the weights held (the optimizer's step replaced by nothing), update j's loss is the mean loss of steps
    j·k1 … (j+1)·k1 − 1 of ONE forward pass over the concatenated stream, and the carry is that pass's state of every
    layer (an LSTM's h and c) — which holds only if every layer's state crosses each window boundary."""
    B, n = 2, 8
    cfg = TrainConfig(cell=cell, hidden_size=6, num_layers=3, mode="online", k1=k1, k2=k2, batch_size=B, seed=1,
                      snapshot_every=0)
    tr = Trainer(STREAM, cfg)
    tr.state.optimizer.step = lambda params, grads: 0.0
    model = tr.model.copy()
    recs = list(tr.run(n))

    X, y = stream(STREAM, n * k1 + k1, B)
    whole = ex.forward(model, X, y, loss="cross_entropy")
    expect = [whole.losses[j * k1:(j + 1) * k1].sum() / (k1 * B) for j in range(n)]
    got = [r.loss for r in recs]
    np.testing.assert_allclose(got, expect, rtol=1e-12, atol=0)
    carry = tr.state.carry
    assert carry.shape == (3, B, model.cell.state_size)
    np.testing.assert_allclose(carry, whole.state_at((n + 1) * k1 - k2), rtol=0, atol=1e-12)

    # the control: lower layers restarted from zeros at every window (the top one carried) give other losses
    top_only, s = [], None
    for j in range(n):
        w0 = max(0, j * k1 + k1 - k2)
        mask = np.zeros((j * k1 + k1 - w0, B))
        mask[j * k1 - w0:] = 1.0
        t = ex.forward(model, X[w0:j * k1 + k1], y[w0:j * k1 + k1], loss="cross_entropy", mask=mask, s0=s)
        top_only.append(t.losses.sum() / (k1 * B))
        s = np.zeros_like(t.state_at(0))
        s[-1] = t.state_at(max(0, j * k1 + 2 * k1 - k2) - w0)[-1]
    assert max(abs(a - b) for a, b in zip(top_only, expect)) > 1e-6


# ── adaptive K on the joint state ───────────────────────────────────────────────────────────────────────────────

LONG_COPY = tasks.CopyTask(20, n_symbols=3, alphabet=4)          # T = 26: room for K to depend on δ


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_joint_state_k_of_one_layer_is_adaptive_truncations_k(cell):
    model = ex.build_model(cell, LONG_COPY.input_size, 16, LONG_COPY.output_size, scale=0.7, seed=2)
    b = LONG_COPY.batch(16, np.random.default_rng(0))
    trace = ex.forward(model, b.X, b.targets, loss=LONG_COPY.loss, mask=b.mask)
    ks = []
    for delta in (0.02, 0.1, 0.3, 0.9):
        k = adaptive_truncation(trace, delta=delta, measure=False).K
        assert joint_state_K(trace, delta) == k
        ks.append(k)
    assert len(set(ks)) > 1 or cell != "rnn", "δ matters on this decaying RNN: the comparison is not trivial"


def test_a_stacks_k_is_estimated_on_every_layers_state():
    """K of a 2-layer stack from φ_k over [s^{(0)}; s^{(1)}]: computed here from the per-layer adjoints of ℓ_{T−1}."""
    from explorer.adaptive_truncation import bias_bound, choose_K, fit_decay, lower_norm_bound, relative_bound_of
    model = ex.build_model("rnn", LONG_COPY.input_size, 16, LONG_COPY.output_size, scale=0.7, seed=2, num_layers=2)
    b = LONG_COPY.batch(16, np.random.default_rng(0))
    trace = ex.forward(model, b.X, b.targets, loss=LONG_COPY.loss, mask=b.mask)
    last = np.zeros_like(b.mask)
    last[-1] = 1.0
    rec = ex.bptt(model, b.X, b.targets, loss=LONG_COPY.loss, mask=last)
    T, B = LONG_COPY.T, 16
    per = [np.stack([rec.runs[l][0].delta[T - 1 - k] * B for k in range(T)]) for l in range(2)]   # (lag, B, S)
    joint = np.concatenate(per, axis=-1)
    phi = np.linalg.norm(joint, axis=2).mean(axis=1)
    cum = np.linalg.norm(np.cumsum(joint.mean(axis=1), axis=0), axis=1)
    tau = max(0, T - 20)
    bound = bias_bound(phi, tau, fit_decay(phi, tau)[0])
    for delta in (0.05, 0.2, 0.5):
        assert joint_state_K(trace, delta) == choose_K(relative_bound_of(bound, lower_norm_bound(cum, bound)), delta)


# ── save / resume ───────────────────────────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("which", ["tbptt", "adaptive", "online"])
def test_a_stacked_run_saves_and_resumes_bit_for_bit(which):
    if which == "online":
        task, cfg = STREAM, TrainConfig(cell="gru", hidden_size=6, num_layers=3, mode="online", k1=4, k2=6,
                                        batch_size=3, optimizer="rmsprop")
    else:
        task, cfg = COPY, config(scheme=which, adapt_every=3)
    straight = Trainer(task, cfg)
    a = [r.as_row() for r in straight.run(12)]
    first = Trainer(task, cfg)
    b = [r.as_row() for r in first.run(6)]
    resumed = Trainer.from_state_bytes(task, first.state_bytes())
    assert resumed.config == cfg and resumed.model.num_layers == cfg.num_layers
    b += [r.as_row() for r in resumed.run(6)]
    assert a == b
    for k, v in straight.model.params.items():
        np.testing.assert_array_equal(resumed.model.params[k], v)
    if which == "online":
        assert straight.state.carry.shape[0] == 3
        np.testing.assert_array_equal(resumed.state.carry, straight.state.carry)


def header_edit(data: bytes, edit) -> bytes:
    arrays = dict(np.load(io.BytesIO(data)))
    header = json.loads(arrays["__header__"].tobytes().decode())
    edit(header)
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_a_state_saved_before_num_layers_existed_loads_as_one_layer():
    cfg = config(num_layers=1)
    first = Trainer(COPY, cfg)
    list(first.run(3))
    old = header_edit(first.state_bytes(), lambda h: h["config"].pop("num_layers"))
    back = Trainer.from_state_bytes(COPY, old)
    assert back.config == cfg and back.config.num_layers == 1 and not back.model.stacked
    now = Trainer.from_state_bytes(COPY, first.state_bytes())
    assert [r.as_row() for r in back.run(3)] == [r.as_row() for r in now.run(3)]


def test_a_state_whose_config_and_weights_disagree_on_the_layers_is_refused():
    tr = Trainer(COPY, config(num_layers=2))
    bad = header_edit(tr.state_bytes(), lambda h: h["config"].update(num_layers=1))
    with pytest.raises(ValueError, match="parameters are those of 2 layer"):
        Trainer.from_state_bytes(COPY, bad)


def test_the_lab_store_keeps_a_stacked_run_and_reopens_a_run_kept_before_num_layers(tmp_path, monkeypatch):
    monkeypatch.setattr(lab_store, "RUN_DIR", tmp_path / "runs")
    for L in (1, 2):
        cfg = config(num_layers=L)
        tr = Trainer(COPY, cfg)
        records = [tr.step() for _ in range(3)]
        key = ("copy", 4, None, cfg)
        lab_store.save("r" + "1" * 16, key, tr, records)
        back, recs = lab_store.restore(lab_store.load("r" + "1" * 16), key, COPY)
        assert back.model.num_layers == L and [r.as_row() for r in recs] == [r.as_row() for r in records]
        assert tr.step().as_row() == back.step().as_row()
    with pytest.raises(ValueError, match="other lab settings"):                       # L = 2 is not L = 1's run
        lab_store.restore(lab_store.load("r" + "1" * 16), ("copy", 4, None, config(num_layers=1)), COPY)

    # a run kept by the lab before the field existed: its key's repr and its trainer's config have no num_layers
    cfg = config(num_layers=1)
    tr = Trainer(COPY, cfg)
    records = [tr.step() for _ in range(2)]
    key = ("copy", 4, None, cfg)
    a = dict(np.load(io.BytesIO(lab_store.run_bytes(key, tr, records))))
    header = json.loads(a["header"].tobytes().decode())
    header["key"] = repr(key).replace(" num_layers=1,", "")
    assert "num_layers" not in header["key"] and "hidden_size=5, activation=" in header["key"]
    a["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    a["trainer"] = np.frombuffer(header_edit(a["trainer"].tobytes(), lambda h: h["config"].pop("num_layers")),
                                 dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **a)
    back, recs = lab_store.restore(buf.getvalue(), key, COPY)
    assert back.config == cfg and len(recs) == 2
    assert tr.step().as_row() == back.step().as_row()
    assert not lab_store.same_key(header["key"], ("copy", 4, None, config(num_layers=2)))


def test_a_saved_stacked_model_starts_a_stacked_run_and_not_a_one_layer_one():
    tr = Trainer(COPY, config(num_layers=2))
    list(tr.run(2))
    model, _ = load_model(io.BytesIO(model_bytes(tr.model, {"task": "copy", "updates": 2})))
    again = Trainer.from_model(COPY, config(num_layers=2), model)
    assert again.model.num_layers == 2
    for k, v in tr.model.params.items():
        np.testing.assert_array_equal(again.model.params[k], v)
    with pytest.raises(ValueError, match=r"L 2 \(the lab has 1\).*Layers in the sidebar"):
        Trainer.from_model(COPY, config(num_layers=1), model)


def test_the_lab_batch_budget_counts_every_layer():
    from explorer import work_budget as wb
    cell, H, D, T = "lstm", 128, 10, 200
    one = tl.batch_size(cell, H, D, T, 4096)
    assert one == min(4096, wb.batch_limit(cell, H, D, T, memory=tl.UPDATE_MEMORY, work=tl.UPDATE_WORK))
    assert tl.batch_size(cell, H, D, T, 4096, layers=1) == one
    for L in (2, 3, 4):
        mem, work = L * wb.update_bytes(cell, H, T, 1), wb.update_cost(cell, H, D, T, 1) \
            + (L - 1) * wb.update_cost(cell, H, H, T, 1)
        expect = max(1, int(min(tl.UPDATE_MEMORY / mem, tl.UPDATE_WORK / work)))
        assert abs(tl.batch_size(cell, H, D, T, 4096, layers=L) - expect) <= 1     # the same count, up to rounding
        assert tl.batch_size(cell, H, D, T, 4096, layers=L) < one


# ── the lab page ────────────────────────────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("settings", [{}, {"scheme": "tbptt", "k1": "4", "k2": "8"},
                                      {"scheme": "randomized", "keep": "0.5"}, {"lab_scheme": "adaptive"}],
                         ids=["full", "tbptt", "randomized", "adaptive"])
def test_the_lab_trains_the_sidebars_two_layers(settings):
    at = open_lab(layers="2", cell="lstm", H="8", B="8", **settings)
    assert not at.exception and not at.error
    assert not any("Layers" in i.value for i in at.info), "no notice that the layers are not used"
    assert any("L = 2 stacked layers" in c.value for c in at.caption)
    for _ in range(3):
        button(at, "▶| step").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    lb = lab(at)
    assert len(lb.records) == 3 and all(r.finite for r in lb.records)
    assert lb.trainer.config.num_layers == 2 and lb.trainer.model.num_layers == 2
    assert any(k.endswith("_l1") for k in lb.trainer.model.params)
    assert lb.trainer.config.scheme == settings.get("lab_scheme", settings.get("scheme", "full"))
    if settings.get("lab_scheme") == "adaptive":
        assert lb.records[0].K_estimated and lb.records[0].K is not None
    assert len([c for c in at.get("plotly_chart")]) >= 4


def test_the_lab_trains_two_layers_on_text_and_samples_them():
    at = open_lab(layers="2", H="8", task="text", size="25")
    for _ in range(2):
        button(at, "▶| step").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    lb = lab(at)
    assert lb.trainer.model.num_layers == 2
    assert any("unit h_i of the top layer" in c.value for c in at.caption)
    # the sample the page writes is the stacked sampler's (explorer.sampling: every layer's state carried)
    want = sample(lb.trainer.model, lb.trainer.task.corpus.vocab, 300, temperature=0.8, seed=len(lb.records)).text
    assert [c.value for c in at.code if not c.value.startswith("?")] == [want]
