"""Finite-difference oracles used by the tests (float64, central differences)."""
import numpy as np

from explorer import losses as L

EPS = 1e-6


def make_problem(cell, activation, loss, *, T=5, B=2, D=2, H=3, O=3, seed=0, scale=0.9, masked=False):
    """A tiny seeded model, inputs, targets and (optionally) a mask with some steps off."""
    import explorer as ex
    rng = np.random.default_rng(seed)
    model = ex.build_model(cell, D, H, O, activation=activation, init="gaussian", scale=scale, seed=seed)
    # non-zero biases so every parameter (and the GRU's b_hn) matters
    for k in model.params:
        if k.startswith("b"):
            model.params[k] = rng.normal(0, 0.3, model.params[k].shape)
    X = rng.standard_normal((T, B, D))
    if loss == "cross_entropy":
        targets = rng.integers(0, O, (T, B))
    else:
        targets = rng.standard_normal((T, B, O))
    mask = None
    if masked:
        mask = (rng.random((T, B)) < 0.6).astype(float)
        mask[-1] = 1.0
    return model, X, targets, mask


def step_losses(model, X, targets, loss, mask, params_at):
    """Per-step batch-mean losses ℓ_t when step t uses parameters params_at(t) (readout included)."""
    T, B, _ = X.shape
    H = model.hidden_size
    m = L.check_mask(mask, T, B, np.float64)
    s = np.zeros((B, model.cell.state_size))
    out = np.empty(T)
    for t in range(T):
        p = params_at(t)
        cache = model.cell.forward(p, X[t:t + 1], s)
        y = cache.states[1:, :, :H] @ p["W_hy"].T + p["b_y"]
        ell, _ = L.per_step(loss, y, targets[t:t + 1], m[t:t + 1])
        out[t] = ell.sum() / B
        s = cache.states[1]
    return out


def stepwise_fd(model, X, targets, loss, mask, eps=EPS):
    """FD[name][t, k] = ∂ℓ_t/∂θ_k: the derivative of the loss at step t through the copy of θ used at step k.
    Any truncation scheme's gradient is Σ_{t,k} M[t,k] FD[t,k] — Pascanu's decomposition, by brute force."""
    T = X.shape[0]
    base = model.params
    out = {}
    for name, w in base.items():
        fd = np.zeros((T, T) + w.shape)
        for i in np.ndindex(w.shape):
            for k in range(T):
                vals = []
                for sgn in (1, -1):
                    pert = dict(base)
                    pert[name] = w.copy()
                    pert[name][i] += sgn * eps
                    vals.append(step_losses(model, X, targets, loss, mask,
                                             lambda t, pert=pert, k=k: pert if t == k else base))
                fd[(slice(None), k) + i] = (vals[0] - vals[1]) / (2 * eps)
        out[name] = fd
    return out


def masked_fd(fd, mask):
    """Σ_{t,k} M[t,k] FD[t,k] for every parameter."""
    return {k: np.tensordot(mask, v, axes=([0, 1], [0, 1])) for k, v in fd.items()}
