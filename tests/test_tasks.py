import numpy as np
import pytest

from explorer.tasks import (
    AddingTask,
    CopyTask,
    Corpus,
    CorpusError,
    ReberTask,
    SeriesTask,
    TemporalOrderTask,
    TextTask,
    builtin_corpus,
    corpus_from_upload,
    memoryless_baseline,
)
from explorer.tasks.reber import _EDGES, SYMBOLS


@pytest.mark.parametrize("lag", [15, 100])
def test_copy_baseline_matches_formula(lag):
    t = CopyTask(lag)
    assert t.baseline == pytest.approx(10 * np.log(8) / (lag + 20), rel=1e-12)
    assert memoryless_baseline(t, 20_000) == pytest.approx(t.baseline, abs=1e-3)
    b = t.batch(4, np.random.default_rng(0))
    assert b.X.shape == (lag + 20, 4, 10) and b.targets.shape == (lag + 20, 4)
    np.testing.assert_array_equal(b.targets[-10:], b.X[:10].argmax(-1))        # recall = the first ten inputs
    assert np.all(b.X[lag + 9].argmax(-1) == 9)                                  # delimiter just before recall


def test_adding_and_temporal_order_baselines():
    a = AddingTask(50)
    assert memoryless_baseline(a, 40_000) == pytest.approx(1 / 6, abs=5e-3)
    b = a.batch(8, np.random.default_rng(1))
    assert np.all(b.X[:, :, 1].sum(0) == 2) and np.all(b.mask.sum(0) == 1)
    marked = (b.X[:, :, 0] * b.X[:, :, 1]).sum(0)
    np.testing.assert_allclose(b.targets[-1, :, 0], marked)
    first_half = b.X[:25, :, 1].sum(0)
    assert np.all(first_half == 1)
    o = TemporalOrderTask(50)
    assert memoryless_baseline(o, 40_000) == pytest.approx(np.log(4), abs=1e-3)


def _parse_reber(s):
    """Walk the embedded grammar; return the number of fair two-way choices, or raise if s is not valid."""
    assert s[0] == "B" and s[-1] == "E" and s[1] in "TP" and s[-2] == s[1]
    inner = s[2:-2]
    assert inner[0] == "B" and inner[-1] == "E"
    state, choices = 1, 1                                   # the first c is a fair choice
    for ch in inner[1:-1]:
        nxt = dict(_EDGES[state])
        assert ch in nxt, (s, ch, state)
        state = nxt[ch]
        choices += 1
    assert state == 6
    return choices


def test_reber_strings_are_grammatical_and_floor_counts_choices():
    t = ReberTask(30)
    rng = np.random.default_rng(3)
    strs = t.strings(500, rng)
    choices = [_parse_reber(s) for s in strs]
    steps = sum(len(s) - 1 for s in strs)
    floor, base = ReberTask.floor_and_baseline(strs)
    assert floor == pytest.approx(np.log(2) * sum(choices) / steps)
    assert base - floor == pytest.approx(np.log(2) * len(strs) / steps)
    b = t.batch(16, rng)
    assert b.X.shape[-1] == len(SYMBOLS) and b.mask.sum() == sum((b.mask[:, i] > 0).sum() for i in range(16))
    assert t.floor < t.baseline < memoryless_baseline(t, 3000)


def test_series_targets_are_the_future_and_persistence_is_the_baseline():
    for kind in ("sines", "oscillator"):
        t = SeriesTask(kind, T=60, horizon=3)
        b = t.batch(5, np.random.default_rng(0))
        np.testing.assert_array_equal(b.targets[:-1, :, 0], b.X[1:, :, 0])     # y_t[0] = x_{t+1}
        np.testing.assert_array_equal(b.targets[:-2, :, 1], b.X[2:, :, 0])
        assert 0 < t.baseline < memoryless_baseline(t, 2000)                   # persistence beats the mean


def test_text_task_baseline_is_the_unigram_entropy():
    c = builtin_corpus("python-docs")
    t = TextTask(c, T=25)
    p = np.bincount(c.ids) / len(c.ids)
    p = p[p > 0]
    assert t.baseline == pytest.approx(-np.sum(p * np.log(p)))
    assert memoryless_baseline(t, 20_000) == pytest.approx(t.baseline, abs=0.02)
    assert t.baseline < np.log(c.vocab.size)
    for name in ("brackets", "counting", "reber"):
        cc = builtin_corpus(name, size=5000, seed=1)
        assert len(cc.text) == 5000 and cc.vocab.size < 20
    br = builtin_corpus("brackets", size=20_000)
    for line in br.text.split("\n")[:-1]:                                     # every complete line is balanced
        stack = []
        for ch in line:
            if ch in "([{":
                stack.append(")]}"["([{".index(ch)])
            else:
                assert stack.pop() == ch
        assert not stack


def test_bad_uploads_get_clear_messages():
    good = ("The quick brown fox jumps over the lazy dog. " * 10).encode()
    assert corpus_from_upload(good, "fox.txt").vocab.size > 20
    cases = [
        (b"", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "looks like a binary file"),
        ("naïve café résumé ".encode("latin-1") * 20, "is not UTF-8 text"),
        (b"a" * (2 * 1024 * 1024 + 1), "over the limit of 2 MB"),
        (b"short text", "needs at least 100"),
        ("".join(chr(0x4E00 + i) for i in range(300)).encode() * 2, "handles at most 200"),
    ]
    for data, words in cases:
        with pytest.raises(CorpusError, match=words):
            corpus_from_upload(data, "upload.txt")
    with pytest.raises(CorpusError, match="fewer than T"):
        TextTask(Corpus("x", "abc"), T=25)
