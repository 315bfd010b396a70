"""Generating text from a character model, and reading its hidden units over a text.

Sampling: prime the state (every layer's, in a stack) with a prefix, then repeatedly draw c_{t+1} ∼ softmax(y_t / τ) (temperature τ; the
k most likely characters only when top_k is set) and feed it back as the next one-hot input.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .forward import QUIET, forward
from .tasks.text import CorpusError, Vocabulary
from .validation import finite_float, positive_int


@dataclass
class Sample:
    text: str                  # the generated characters (without the prime)
    prime: str
    hidden: np.ndarray         # (len(prime) + len(text), H) the (top layer's) hidden state after each character
    probs: np.ndarray          # (len(text), V) the distribution each generated character was drawn from


def _step(model, s, x_idx):
    """One step for a single sequence, input given as a character index: the state to carry on (one layer: (1, S);
    a stack: (L, 1, S), every layer's) and the top layer's h_t (H,), which the readout reads."""
    X = np.zeros((1, 1, model.input_size), dtype=model.dtype)
    X[0, 0, x_idx] = 1.0
    if not model.stacked:
        s = model.cell.forward(model.params, X, s).states[1]
        return s, s[0, :model.hidden_size]
    tr = forward(model, X, s0=s)
    return tr.state_at(1), tr.h[0, 0]


def sample(model, vocab: Vocabulary, n: int, *, prime: str = "", temperature: float = 1.0,
           top_k: int | None = None, seed: int = 0) -> Sample:
    """n characters from `model` after reading `prime` (which must use the model's vocabulary)."""
    n = positive_int("n", n, maximum=100_000)
    temperature = finite_float("temperature", temperature, low=0.0, low_open=True, high=100.0)
    if top_k is not None:
        top_k = positive_int("top_k", top_k, maximum=vocab.size)
    if model.stacked and model.bidirectional:
        raise ValueError("a bidirectional model reads the whole text at once: it cannot write one character at a time")
    if model.input_size != vocab.size or model.output_size != vocab.size:
        raise ValueError(f"the model reads {model.input_size} and writes {model.output_size} symbols, but the "
                         f"vocabulary has {vocab.size}")
    rng = np.random.default_rng(seed)
    p = model.params
    s = None if model.stacked else np.zeros((1, model.cell.state_size), dtype=model.dtype)    # None: zeros
    prime_ids = vocab.encode(prime) if prime else np.array([rng.integers(vocab.size)])
    hidden, out, probs = [], [], []
    with np.errstate(**QUIET):
        for c in prime_ids:
            s, h = _step(model, s, c)
            hidden.append(h.copy())
        for _ in range(n):
            y = (h @ p["W_hy"].T + p["b_y"]) / temperature
            if top_k is not None and top_k < vocab.size:
                cut = np.partition(y, -top_k)[-top_k]
                y = np.where(y >= cut, y, -np.inf)
            y = y - np.max(y)
            pr = np.exp(y)
            pr /= pr.sum()
            c = int(rng.choice(vocab.size, p=pr))
            probs.append(pr)
            out.append(c)
            s, h = _step(model, s, c)
            hidden.append(h.copy())
    text = vocab.decode(out)
    return Sample(text, prime if prime else vocab.decode(prime_ids), np.array(hidden), np.array(probs))


def activations_over_text(model, vocab: Vocabulary, text: str) -> np.ndarray:
    """Hidden states h_t (len(text), H) after reading each character of `text` — for colouring text by a unit."""
    if not text:
        raise CorpusError("the text to read is empty")
    ids = vocab.encode(text)
    X = np.zeros((len(ids), 1, vocab.size), dtype=model.dtype)
    X[np.arange(len(ids)), 0, ids] = 1.0
    return forward(model, X).h[:, 0, :]
