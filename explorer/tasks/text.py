"""Character-level text: corpora, vocabulary, and the checks an uploaded corpus must pass.

Built-in corpora need no download and ship no third-party text:
- "brackets": random balanced bracket strings ([], (), {}) with nesting up to a depth — a language whose
  closing symbol depends on an opening one arbitrarily far back;
- "counting": "1 2 3 … n" lines — predicting the next number needs the digits of the last;
- "reber": embedded Reber strings, one per line;
- "python-docs": English prose read at run time from the docstrings of Python's own standard library.

Uploaded text is refused, with a message saying which check failed and what to do, when it is empty, larger
than MAX_UPLOAD_BYTES (2 MB), binary, not decodable, shorter than MIN_CHARS, or uses more than MAX_VOCAB distinct
characters. It is read as UTF-8 unless a byte-order mark says UTF-8, UTF-16 or UTF-32 (Windows' "Unicode" text
is UTF-16 with one), or, without one, nearly every other byte is zero (UTF-16 LE/BE of text in a Latin script).

The trivial baseline is the unigram entropy H = −Σ_c p(c) ln p(c) (a model that knows only character
frequencies); the uniform model's ln V is reported too.
"""
from __future__ import annotations

import codecs
import importlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..validation import choice, positive_int
from .base import Batch, one_hot
from .reber import embedded_reber_string

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_VOCAB = 200
MIN_CHARS = 100
BUILTIN_CORPORA = ("python-docs", "brackets", "counting", "reber")
_DOC_MODULES = ("collections", "json", "string", "textwrap", "functools", "itertools", "pathlib", "random",
                "statistics", "fractions", "decimal", "heapq", "bisect", "argparse", "logging", "csv",
                "datetime", "calendar", "shutil", "tempfile", "glob", "fnmatch", "difflib", "pprint",
                "contextlib", "dataclasses", "enum", "typing", "abc", "copy", "math", "operator", "re")


class CorpusError(ValueError):
    """An uploaded or requested corpus cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Vocabulary:
    chars: str                      # sorted distinct characters; index = position

    @classmethod
    def from_text(cls, text: str) -> "Vocabulary":
        return cls("".join(sorted(set(text))))

    @property
    def size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        lookup = {c: i for i, c in enumerate(self.chars)}
        try:
            return np.fromiter((lookup[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as e:
            raise CorpusError(f"character {e.args[0]!r} is not in this model's vocabulary") from None

    def decode(self, idx) -> str:
        return "".join(self.chars[int(i)] for i in idx)


@dataclass(frozen=True)
class Corpus:
    name: str
    text: str

    @property
    def vocab(self) -> Vocabulary:
        return _vocab(self.text)

    @property
    def ids(self) -> np.ndarray:
        return _ids(self.text)

    @property
    def unigram_entropy(self) -> float:
        counts = np.bincount(self.ids, minlength=self.vocab.size)
        p = counts[counts > 0] / len(self.text)
        return float(-np.sum(p * np.log(p)))


@lru_cache(maxsize=16)
def _vocab(text: str) -> Vocabulary:
    return Vocabulary.from_text(text)


@lru_cache(maxsize=16)
def _ids(text: str) -> np.ndarray:
    ids = _vocab(text).encode(text)
    ids.setflags(write=False)
    return ids


def corpus_from_upload(data: bytes, name: str = "upload") -> Corpus:
    """Check an uploaded file and return it as a corpus (CorpusError with the reason otherwise)."""
    if data is None or len(data) == 0:
        raise CorpusError(f"“{name}” is empty. Upload a UTF-8 text file with at least {MIN_CHARS} characters.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise CorpusError(f"“{name}” is {len(data):,} bytes, over the limit of 2 MB ({MAX_UPLOAD_BYTES:,} bytes). "
                          "Upload a shorter excerpt (a few hundred kB is plenty for a character model).")
    encoding = _sniff_encoding(data)
    text = _decode_utf8(data, name) if encoding is None else _decode_unicode(data, encoding, name)
    text = text.replace("\r\n", "\n").lstrip("\ufeff")
    if len(text) < MIN_CHARS:
        raise CorpusError(f"“{name}” has {len(text)} characters; a character model needs at least {MIN_CHARS}.")
    n = len(set(text))
    if n > MAX_VOCAB:
        raise CorpusError(f"“{name}” uses {n} distinct characters; this character model handles at most "
                          f"{MAX_VOCAB}. Use text in one script (for example plain English) or remove symbols.")
    return Corpus(name, text)


# Byte-order marks, longest first: UTF-32 LE's (FF FE 00 00) begins with UTF-16 LE's (FF FE).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_ENCODING_NAMES = {"utf-32": "UTF-32", "utf-8-sig": "UTF-8 (with a byte-order mark)", "utf-16": "UTF-16",
                   "utf-16-le": "UTF-16 (little-endian, no byte-order mark)",
                   "utf-16-be": "UTF-16 (big-endian, no byte-order mark)"}


def _sniff_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark or UTF-16's zero bytes announce; None for plain UTF-8 (or binary)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    head = data[:65536 - 65536 % 2]
    if len(data) % 2 or len(head) < 2:
        return None
    even, odd = head[0::2], head[1::2]
    # Text in Latin scripts has a zero high byte in almost every UTF-16 unit, and never a zero low byte
    # (that would be U+0000 or a character like U+0100 — rare). Binary with zeros everywhere fails the second test.
    for high, low, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if high.count(0) >= 0.9 * len(high) and low.count(0) == 0:
            return encoding
    return None


def _decode_utf8(data: bytes, name: str) -> str:
    """Bytes without a byte-order mark: refused as binary when control bytes show it, else decoded as UTF-8."""
    head = data[:65536]
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    if b"\x00" in head or control > 0.05 * len(head):
        raise CorpusError(f"“{name}” looks like a binary file ({control} control bytes in the first "
                          f"{len(head)}), not text. Upload a plain-text (.txt) file.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CorpusError(f"“{name}” is not UTF-8 text (byte 0x{data[e.start]:02x} at position {e.start}). "
                          "Save it as UTF-8 and upload it again.") from None


def _decode_unicode(data: bytes, encoding: str, name: str) -> str:
    """Bytes in the UTF-8/16/32 form `encoding` announced, decoded strictly, then checked for control
    characters (a binary file may start with a byte-order mark by chance)."""
    label = _ENCODING_NAMES[encoding]
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        raise CorpusError(f"“{name}” looks like {label} text but does not decode ({e.reason} at byte {e.start}). "
                          "Save it as UTF-8 and upload it again.") from None
    head = text[:65536]
    control = sum(1 for c in head if c < " " and c not in "\t\n\r")
    if "\x00" in head or control > 0.05 * len(head):
        raise CorpusError(f"“{name}” looks like a binary file ({control} control characters in the first "
                          f"{len(head)} once read as {label}), not text. Upload a plain-text (.txt) file.")
    return text


def builtin_corpus(name: str, *, size: int = 20_000, seed: int = 0, depth: int = 4) -> Corpus:
    """One of BUILTIN_CORPORA, about `size` characters, generated deterministically from `seed`."""
    choice("corpus", name, BUILTIN_CORPORA)
    size = positive_int("size", size, maximum=2_000_000)
    rng = np.random.default_rng(seed)
    if name == "python-docs":
        return Corpus(name, _python_docs()[:size])
    parts, n = [], 0
    while n < size:
        if name == "brackets":
            s = _brackets(rng, depth) + "\n"
        elif name == "counting":
            s = " ".join(str(i) for i in range(1, int(rng.integers(5, 40)) + 1)) + "\n"
        else:
            s = embedded_reber_string(rng, 40) + "\n"
        parts.append(s)
        n += len(s)
    return Corpus(name, "".join(parts)[:size])


def _brackets(rng: np.random.Generator, depth: int) -> str:
    pairs = ("()", "[]", "{}")
    out, stack = [], []
    length = int(rng.integers(4, 40))
    while len(out) < length or stack:
        if stack and (len(stack) >= depth or len(out) >= length or rng.random() < 0.45):
            out.append(stack.pop())
        else:
            o, c = pairs[rng.integers(0, 3)]
            out.append(o)
            stack.append(c)
    return "".join(out)


@lru_cache(maxsize=1)
def _python_docs() -> str:
    docs = []
    for mod in _DOC_MODULES:
        try:
            d = importlib.import_module(mod).__doc__
        except ImportError:
            continue
        if d:
            docs.append(" ".join(d.split()))       # one paragraph per module, whitespace normalised
    return "\n".join(docs) + "\n"


@dataclass(frozen=True)
class TextTask:
    """Next-character prediction on windows of T characters (one-hot inputs, cross-entropy at every step)."""

    corpus: Corpus
    T: int = 25
    name = "text"
    loss = "cross_entropy"

    def __post_init__(self):
        positive_int("T", self.T, maximum=10_000)
        if len(self.corpus.text) < self.T + 1:
            raise CorpusError(f"the corpus has {len(self.corpus.text)} characters, fewer than T + 1 = {self.T + 1}")

    @property
    def input_size(self) -> int:
        return self.corpus.vocab.size

    @property
    def output_size(self) -> int:
        return self.corpus.vocab.size

    @property
    def baseline(self) -> float:
        return self.corpus.unigram_entropy

    def batch(self, B: int, rng: np.random.Generator) -> Batch:
        ids = self.corpus.ids
        start = rng.integers(0, len(ids) - self.T, B)
        win = ids[start[None, :] + np.arange(self.T + 1)[:, None]]          # (T+1, B)
        return Batch(one_hot(win[:-1], self.input_size), win[1:], np.ones((self.T, B)), "cross_entropy")

    def describe(self) -> str:
        v = self.corpus.vocab.size
        return (f"next character of “{self.corpus.name}” ({len(self.corpus.text):,} chars, {v} symbols); "
                f"unigram baseline {self.baseline:.3f} nats (uniform ln {v} = {np.log(v):.3f})")
