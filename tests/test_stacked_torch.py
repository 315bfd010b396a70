"""Stacked models against torch.nn.RNN / LSTM / GRU(num_layers=2, 3, bidirectional=False, True) in float64: the
same weights (through torch's state_dict names) give the same outputs, loss, every parameter gradient and the
gradients of the initial states, to ≤ 1e-9 relative; TBPTT(K, K) is torch's "detach the state every K steps".
torch is optional locally and required in CI (tests/optional.py)."""
import numpy as np
import pytest
from optional import needs

import explorer as ex
from explorer.gradcheck import relative_error

TOL = 1e-9
CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
T, B, D, H, O = 9, 3, 4, 5, 3


def torch_stack(torch, cell, act, L, bidirectional, seed=0):
    """(module, readout Linear) in float64, with non-zero bias_hh in every layer so the bias mapping matters."""
    torch.manual_seed(seed)
    kw = {"nonlinearity": act} if cell == "rnn" else {}
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    net = cls(D, H, num_layers=L, bidirectional=bidirectional, **kw).double()
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.startswith("bias_hh"):
                p.uniform_(-0.5, 0.5)
    lin = torch.nn.Linear(H * (2 if bidirectional else 1), O).double()
    return net, lin


def state_dict(net, lin) -> dict:
    sd = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    sd.update({f"readout.{k}": v.detach().numpy().copy() for k, v in lin.state_dict().items()})
    return sd


def ours_in_torch_names(cell, grads: dict, H: int) -> dict:
    """Our gradients under torch's names, as torch's autograd reports them: bias_hh's gradient is bias_ih's (they
    are summed), except the GRU's candidate block, which is b_hn's."""
    out = {}
    nl, bidi = ex.model.layers_in(grads)
    for l in range(nl):
        for r in (False, True)[:1 + bidi]:
            g = {name: grads[ex.layer_key(name, l, r)] for name in ("W_xh", "W_hh", "b_h", "b_hn")
                 if ex.layer_key(name, l, r) in grads}
            sfx = f"_l{l}" + ("_reverse" if r else "")
            out[f"weight_ih{sfx}"] = g["W_xh"]
            out[f"weight_hh{sfx}"] = g["W_hh"]
            out[f"bias_ih{sfx}"] = g["b_h"]
            bhh = g["b_h"].copy()
            if cell == "gru":
                bhh[2 * H:] = g["b_hn"]
            out[f"bias_hh{sfx}"] = bhh
    return out


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("L", [2, 3])
@pytest.mark.parametrize("cell,act", CELLS)
def test_stack_matches_torch_autograd(cell, act, L, bidirectional):
    torch = needs("torch")
    net, lin = torch_stack(torch, cell, act, L, bidirectional)
    model = ex.from_torch_state_dict(state_dict(net, lin), cell, activation=act)
    assert (model.num_layers, model.bidirectional) == (L, bidirectional)
    dirs = 2 if bidirectional else 1
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((T, B, D)), rng.integers(0, O, (T, B))
    h0 = rng.normal(0, 0.5, (L * dirs, B, H))
    c0 = rng.normal(0, 0.5, (L * dirs, B, H))
    th0 = torch.tensor(h0, requires_grad=True)
    tc0 = torch.tensor(c0, requires_grad=True)
    out, _ = net(torch.from_numpy(X), (th0, tc0) if cell == "lstm" else th0)
    logits = lin(out)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, O), torch.from_numpy(y).reshape(-1),
                                             reduction="sum") / B
    loss.backward()

    s0 = np.concatenate([h0, c0], axis=-1) if cell == "lstm" else h0          # our s_0 = [h; c] per layer
    rec = ex.bptt(model, X, y, s0=s0)
    assert rec.trace.loss == pytest.approx(loss.item(), rel=1e-13)
    assert relative_error(rec.trace.Y, logits.detach().numpy()) <= TOL
    assert relative_error(rec.trace.layer_output(L - 1), out.detach().numpy()) <= TOL
    want = {k: v.grad.numpy() for k, v in net.named_parameters()}
    got = ours_in_torch_names(cell, rec.grads, H)
    assert set(got) == set(want)
    for k in want:
        assert relative_error(got[k], want[k]) <= TOL, k
    assert relative_error(rec.grads["W_hy"], lin.weight.grad.numpy()) <= TOL
    assert relative_error(rec.grads["b_y"], lin.bias.grad.numpy()) <= TOL
    assert relative_error(rec.d_s0_by_layer[..., :H], th0.grad.numpy()) <= TOL
    if cell == "lstm":
        assert relative_error(rec.d_s0_by_layer[..., H:], tc0.grad.numpy()) <= TOL
    # and back: our weights under torch's names load into a fresh torch module and give its outputs
    net2, lin2 = torch_stack(torch, cell, act, L, bidirectional, seed=9)
    sd = ex.to_torch_state_dict(model)
    net2.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items() if not k.startswith("readout.")})
    lin2.load_state_dict({k[len("readout."):]: torch.from_numpy(v) for k, v in sd.items() if k.startswith("readout.")})
    out2, _ = net2(torch.from_numpy(X), (th0, tc0) if cell == "lstm" else th0)
    assert relative_error(lin2(out2).detach().numpy(), rec.trace.Y) <= TOL


@pytest.mark.parametrize("L", [2, 3])
@pytest.mark.parametrize("cell,act", CELLS)
def test_tbptt_of_a_stack_is_torchs_detach_every_k_steps(cell, act, L):
    """TBPTT(K, K) = run K steps, backpropagate their loss, carry the state on detached (every layer), repeat —
    the usual torch loop — with the gradients summed over chunks. K = 3 divides T = 9: when it does not, TBPTT's
    last update still reaches K steps back, into the chunk before (explorer.truncation), and this loop does not."""
    torch = needs("torch")
    K = 3
    net, lin = torch_stack(torch, cell, act, L, False)
    model = ex.from_torch_state_dict(state_dict(net, lin), cell, activation=act)
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((T, B, D)), rng.integers(0, O, (T, B))
    state = None
    for a in range(0, T, K):
        out, state = net(torch.from_numpy(X[a:a + K]), state)
        chunk = torch.nn.functional.cross_entropy(lin(out).reshape(-1, O), torch.from_numpy(y[a:a + K]).reshape(-1),
                                                  reduction="sum") / B
        chunk.backward()
        state = tuple(s.detach() for s in state) if cell == "lstm" else state.detach()
    rec = ex.bptt(model, X, y, scheme=ex.TBPTT(K, K))
    want = {k: v.grad.numpy() for k, v in net.named_parameters()}
    got = ours_in_torch_names(cell, rec.grads, H)
    for k in want:
        assert relative_error(got[k], want[k]) <= TOL, k
    assert relative_error(rec.grads["W_hy"], lin.weight.grad.numpy()) <= TOL


def test_a_torch_stack_loads_from_safetensors_and_npz_files():
    torch = needs("torch")
    net, lin = torch_stack(torch, "lstm", "tanh", 2, True)
    sd = state_dict(net, lin)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((T, B, D))
    want = lin(net(torch.from_numpy(X))[0]).detach().numpy()
    import io
    buf = io.BytesIO()
    np.savez(buf, **sd)
    for data, name in ((ex.write_safetensors(sd), "lstm.safetensors"), (buf.getvalue(), "lstm.npz")):
        model = ex.load_torch_model(data, name, "lstm")
        assert (model.num_layers, model.bidirectional) == (2, True)
        assert relative_error(ex.forward(model, X).Y, want) <= TOL
