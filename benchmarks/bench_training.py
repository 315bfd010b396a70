"""Training speed of the classic char-RNN configuration (min-char-rnn: tanh RNN, H=100, seq 25, Adagrad lr 0.1,
clip ±5, state carried across chunks) — explorer's Trainer against a plain single-file NumPy reference loop
(min_char_rnn_reference.py) in the same run, from the same initial weights on the same text.

Reports steps/s (medians over interleaved rounds), and whether the two compute the same thing:
- lockstep: at every update of the reference, explorer is given the reference's exact weights, carried state and
  text window, and its loss and clipped gradients are compared (target: losses equal to 1e-9);
- free-running: both train independently; the curves agree to 1e-9 for the first updates and then drift apart,
  because this configuration amplifies rounding differences ~10–1000× per update (Adagrad's step g/√(g²+1e-8)
  has slope lr/1e-4 = 1000 at g ≈ 0). The control shows it: the reference against itself with W_hh nudged by one
  part in 1e15 drifts the same way. Smoothed end losses are compared instead.
Target: ≥ 1.5× the reference's steps/s.

    python benchmarks/bench_training.py [--updates 2000] [--rounds 5] [--out benchmarks/results/bench_training.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from min_char_rnn_reference import MinCharRNN

import explorer as ex
from explorer.tasks import TextTask, builtin_corpus
from explorer.training import TrainConfig, Trainer


def make_ours(task, ref, diagnostics: bool) -> Trainer:
    cfg = TrainConfig(cell="rnn", hidden_size=ref.H, optimizer="adagrad", lr=0.1, clip="value", clip_threshold=5.0,
                      mode="online", k1=25, k2=25, batch_size=1,
                      snapshot_every=10 if diagnostics else 0, spectrum_every=1 if diagnostics else 0)
    tr = Trainer(task, cfg)
    p = tr.model.params
    p["W_xh"][...], p["W_hh"][...], p["W_hy"][...] = ref.Wxh, ref.Whh, ref.Why
    p["b_h"][...], p["b_y"][...] = ref.bh[:, 0], ref.by[:, 0]
    return tr


def lockstep(ids, V, n_updates):
    """Max |loss diff| and max relative clipped-gradient diff when explorer recomputes each reference update."""
    ref = MinCharRNN(V, 100, seed=0)
    model = ex.build_model("rnn", V, 100, V)
    names = ["W_xh", "W_hh", "W_hy", "b_h", "b_y"]
    p, hprev, max_loss, max_grad = 0, None, 0.0, 0.0
    for _ in range(n_updates):
        if hprev is None or p + 26 >= len(ids):
            hprev, p = np.zeros((100, 1)), 0
        inputs, targets = ids[p:p + 25], ids[p + 1:p + 26]
        model.params.update(W_xh=ref.Wxh.copy(), W_hh=ref.Whh.copy(), W_hy=ref.Why.copy(), b_h=ref.bh[:, 0].copy(),
                            b_y=ref.by[:, 0].copy())
        X = np.zeros((25, 1, V))
        X[np.arange(25), 0, inputs] = 1.0
        rec = ex.bptt(model, X, np.array(targets)[:, None], s0=hprev[:, 0])
        ours = ex.clip_by_value(rec.grads, 5.0).grads
        loss, grads, hnext = ref.loss_fun(inputs, targets, hprev)
        max_loss = max(max_loss, abs(loss - rec.trace.loss))
        for name, g in zip(names, grads):
            max_grad = max(max_grad, ex.relative_error(ours[name], g.reshape(ours[name].shape)))
        for param, dparam, mem in zip(ref.params(), grads, ref.mem):       # the reference's own update
            mem += dparam * dparam
            param += -0.1 * dparam / np.sqrt(mem + 1e-8)
        hprev, p = hnext, p + 25
    return max_loss, max_grad


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--updates", type=int, default=2000, help="updates per side (split into rounds)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_training.json"))
    args = ap.parse_args()
    corpus = builtin_corpus("python-docs", size=40_000)
    task = TextTask(corpus, T=25)
    ids = corpus.ids.tolist()
    V = corpus.vocab.size
    ref = MinCharRNN(V, 100, seed=0)
    ours = make_ours(task, ref, diagnostics=False)
    ours_diag = make_ours(task, MinCharRNN(V, 100, seed=0), diagnostics=True)
    per_round = args.updates // args.rounds
    rates = {"reference": [], "explorer": [], "explorer + diagnostics": []}
    ref_losses, our_losses, diag_losses = [], [], []
    p, hprev = 0, None
    for _ in range(args.rounds):                 # interleaved, so both sides see the same machine state
        t0 = time.perf_counter()
        l, p, hprev = ref.train(ids, per_round, p=p, hprev=hprev)
        rates["reference"].append(per_round / (time.perf_counter() - t0))
        ref_losses += l
        t0 = time.perf_counter()
        our_losses += [r.loss * 25 for r in ours.run(per_round)]
        rates["explorer"].append(per_round / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        diag_losses += [r.loss * 25 for r in ours_diag.run(per_round)]
        rates["explorer + diagnostics"].append(per_round / (time.perf_counter() - t0))
    ref_losses, our_losses = np.array(ref_losses), np.array(our_losses)
    diff = np.abs(ref_losses - our_losses)
    agree_for = int(np.argmax(diff > 1e-9)) if np.any(diff > 1e-9) else len(diff)
    nudged = MinCharRNN(V, 100, seed=0)
    nudged.Whh *= 1 + 1e-15
    control = np.abs(np.array(nudged.train(ids, 60)[0]) - ref_losses[:60])
    control_agree = int(np.argmax(control > 1e-9)) if np.any(control > 1e-9) else 60
    tail = max(50, len(ref_losses) // 5)
    end_ref, end_ours = float(ref_losses[-tail:].mean()), float(our_losses[-tail:].mean())
    ls_loss, ls_grad = lockstep(ids, V, args.updates)
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"min-char-rnn configuration: H=100, seq 25, Adagrad 0.1, clip ±5, vocab {V}, "
          f"{args.updates} updates per side in {args.rounds} interleaved rounds, 1 BLAS thread\n")
    print(f"{'loop':26} {'steps/s (median)':>17} {'× reference':>12}")
    for k, v in med.items():
        print(f"{k:26} {v:17.0f} {v / med['reference']:12.2f}")
    print(f"\nloss per update (sum over 25 chars): first {ref_losses[0]:.4f}, last {ref_losses[-1]:.4f}")
    print(f"lockstep over {args.updates} updates: max |loss diff| {ls_loss:.1e} (target ≤ 1e-9), "
          f"max relative clipped-gradient diff {ls_grad:.1e}")
    print(f"free-running: curves agree to 1e-9 for the first {agree_for} updates; control (reference vs itself, "
          f"W_hh × (1 + 1e-15)) agrees for {control_agree}")
    print(f"mean loss over the last {tail} updates: reference {end_ref:.3f}, explorer {end_ours:.3f} "
          f"({100 * (end_ours / end_ref - 1):+.1f}%)")
    out = dict(steps_per_s=med, rounds=rates, ratio=med["explorer"] / med["reference"],
               ratio_with_diagnostics=med["explorer + diagnostics"] / med["reference"],
               lockstep_max_loss_diff=ls_loss, lockstep_max_grad_rel_diff=ls_grad,
               free_running_agree_updates=agree_for, control_agree_updates=control_agree,
               end_loss_reference=end_ref, end_loss_explorer=end_ours, updates=args.updates, vocab=V,
               first_loss=float(ref_losses[0]), last_loss=float(ref_losses[-1]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
