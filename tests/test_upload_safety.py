"""Files from users are checked before they are read: .npz headers (a shape bomb, a zip that inflates to
250 MB, Python objects), .safetensors headers (truncated, offsets past the end, a huge header, BF16), and text
uploads in UTF-16/UTF-32 are decoded rather than called binary. Every refusal is a ValueError in plain words."""
import base64
import io
import json
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

from explorer import tasks
from explorer.npz_files import MAX_ARRAY_BYTES, read_npz
from explorer.persistence import load_model, model_bytes
from explorer.safetensors_files import read_safetensors
from explorer.tasks.text import CorpusError, corpus_from_upload
from explorer.training import TrainConfig, Trainer

# safetensors.torch.save of {"rnn.weight_ih_l0": F32 (6, 1), "rnn.weight_hh_l0": F32 (6, 2), "rnn.bias_ih_l0":
# BF16 (6,), "rnn.bias_hh_l0": F16 (6,), "fc.weight": F64 (3, 2), "fc.bias": BF16 (3,)}, element i of the
# whole sequence being i/8 − 1 (exact in every dtype). Written by the real package (0.8.0), so the reader is
# checked against the format as the package writes it, not as these tests imagine it.
GOLDEN_SAFETENSORS = base64.b64decode(
    "oAEAAAAAAAB7ImZjLndlaWdodCI6eyJkdHlwZSI6IkY2NCIsInNoYXBlIjpbMywyXSwiZGF0YV9vZmZzZXRzIjpbMCw0OF19LCJy"
    "bm4ud2VpZ2h0X2hoX2wwIjp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOls2LDJdLCJkYXRhX29mZnNldHMiOls0OCw5Nl19LCJybm4u"
    "d2VpZ2h0X2loX2wwIjp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOls2LDFdLCJkYXRhX29mZnNldHMiOls5NiwxMjBdfSwiZmMuYmlh"
    "cyI6eyJkdHlwZSI6IkJGMTYiLCJzaGFwZSI6WzNdLCJkYXRhX29mZnNldHMiOlsxMjAsMTI2XX0sInJubi5iaWFzX2loX2wwIjp7"
    "ImR0eXBlIjoiQkYxNiIsInNoYXBlIjpbNl0sImRhdGFfb2Zmc2V0cyI6WzEyNiwxMzhdfSwicm5uLmJpYXNfaGhfbDAiOnsiZHR5"
    "cGUiOiJGMTYiLCJzaGFwZSI6WzZdLCJkYXRhX29mZnNldHMiOlsxMzgsMTUwXX19IAAAAAAAAAZAAAAAAAAAB0AAAAAAAAAIQAAA"
    "AAAAAAlAAAAAAAAACkAAAAAAAAALQAAAgL4AAAC+AAAAAAAAAD4AAIA+AADAPgAAAD8AACA/AABAPwAAYD8AAIA/AACQPwAAgL8A"
    "AGC/AABAvwAAIL8AAAC/AADAvmBAaEBwQKA/sD/AP9A/4D/wPwBAQECAQMBAAEFAQQ==")
GOLDEN_SHAPES = {"rnn.weight_ih_l0": (6, 1), "rnn.weight_hh_l0": (6, 2), "rnn.bias_ih_l0": (6,),
                 "rnn.bias_hh_l0": (6,), "fc.weight": (3, 2), "fc.bias": (3,)}


def golden_values() -> dict[str, np.ndarray]:
    out, start = {}, 0
    for name, shape in GOLDEN_SHAPES.items():
        n = int(np.prod(shape))
        out[name] = (np.arange(start, start + n) / 8 - 1).reshape(shape)
        start += n
    return out


def npy_header(shape, descr="<f8") -> bytes:
    h = io.BytesIO()
    np.lib.format.write_array_header_1_0(h, {"descr": descr, "fortran_order": False, "shape": shape})
    return h.getvalue()


def zip_of(entries: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def header_bomb() -> bytes:
    """A ~6 kB .npz whose W_hh.npy header declares 10¹² float64s (8 TB) and holds a few kB."""
    return zip_of({"b_h.npy": npy_header((3,)) + bytes(24),
                   "W_hh.npy": npy_header((1_000_000, 1_000_000)) + bytes(5800)})


def inflating_npz(mb: int = 250) -> bytes:
    """What np.savez_compressed(W_hh=np.zeros(mb MB / 8)) writes, streamed so the test itself never holds
    `mb` MB: one deflated entry of a .npy header and zeros."""
    buf = io.BytesIO()
    n = mb * 2 ** 20 // 8
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("W_hh.npy", "w", force_zip64=True) as f:
            f.write(npy_header((n,)))
            chunk = bytes(2 ** 20)
            for _ in range(mb):
                f.write(chunk)
    return buf.getvalue()


def peak_bytes(fn) -> tuple[int, BaseException | None]:
    """(peak Python-traced allocation while fn() runs, the exception it raised)."""
    tracemalloc.start()
    try:
        fn()
        err = None
    except BaseException as e:        # returned for the test to inspect
        err = e
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, err


# --- .npz ------------------------------------------------------------------------------------------------------
def test_a_header_that_declares_a_huge_shape_is_refused_fast_without_allocating():
    data = header_bomb()
    assert len(data) < 7000
    t0 = time.perf_counter()
    peak, err = peak_bytes(lambda: read_npz(data, "not a model file"))
    assert time.perf_counter() - t0 < 1.0
    assert isinstance(err, ValueError), repr(err)
    assert str(err) == ("not a model file (an .npz of plain arrays): entry W_hh declares shape (1000000, 1000000) "
                        "of float64 = 7.3 TB; the limit is 32 MB")
    assert peak < 2 ** 20, peak
    with pytest.raises(ValueError, match="entry W_hh declares shape"):
        load_model(data)


def test_a_small_npz_that_inflates_to_250_mb_is_refused_before_inflating():
    data = inflating_npz(250)
    assert len(data) < 300 * 1024, len(data)
    peak, err = peak_bytes(lambda: read_npz(data, "not a model file"))
    assert isinstance(err, ValueError), repr(err)
    assert "it would unpack to 250 MB; the limit is 32 MB" in str(err)
    assert peak < 20 * 2 ** 20, peak


def test_the_compression_ratio_bound_holds_when_the_size_limit_is_raised():
    data = inflating_npz(40)
    peak, err = peak_bytes(lambda: read_npz(data, "x", max_bytes=100 * 2 ** 20))
    assert isinstance(err, ValueError), repr(err)
    assert "entry 'W_hh.npy' inflates" in str(err) and "possible zip bomb" in str(err), str(err)
    assert peak < 20 * 2 ** 20, peak


def test_a_header_that_disagrees_with_the_data_is_refused():
    data = zip_of({"W_hh.npy": npy_header((4, 4)) + bytes(8 * 15)})       # one float short
    with pytest.raises(ValueError, match=r"entry W_hh declares shape \(4, 4\) of float64 = 128 bytes \(128 bytes\) "
                                         r"but holds 120 bytes of data: the file is truncated or corrupt"):
        read_npz(data, "x")


def test_the_total_of_all_arrays_is_limited_and_the_limit_can_be_changed():
    buf = io.BytesIO()
    np.savez(buf, a=np.zeros(1024), b=np.zeros(1024))
    assert set(read_npz(buf.getvalue(), "x")) == {"a", "b"}
    with pytest.raises(ValueError, match="its arrays declare 16 kB together; the limit is 10 kB"):
        read_npz(buf.getvalue(), "x", max_bytes=10 * 1024)
    assert MAX_ARRAY_BYTES == 32 * 2 ** 20


@pytest.mark.parametrize("array,words", [
    (np.array([{"a": 1}], dtype=object), "entry W holds Python objects (dtype object), which would have to be "
                                         "unpickled: pickled objects are refused"),
    (np.array(["text"]), "entry W has dtype <U4, not plain numbers"),
    (np.zeros(2, dtype=[("x", "<f8"), ("y", "<i4")]), "not plain numbers"),
    (np.array(["2020-01-01"], dtype="datetime64[D]"), "not plain numbers"),
])
def test_arrays_that_are_not_plain_numbers_are_refused(array, words):
    buf = io.BytesIO()
    np.savez(buf, W=array)
    with pytest.raises(ValueError) as e:
        read_npz(buf.getvalue(), "not a model file")
    assert words in str(e.value), str(e.value)


@pytest.mark.parametrize("data,words", [
    (b"", "the file is empty"),
    (npy_header((3,)) + bytes(24), "this is a single .npy array (np.save), not an .npz archive; only .npz files are "
                                   "accepted"),
    (b"GIF89a" + bytes(100), "it is not a zip archive (it starts with b'GIF89a"),
    (zip_of({"archive/data.pkl": b"\x80\x02}q\x00.", "archive/version": b"3"}),
     "entry 'archive/data.pkl' is a pickle (this looks like a torch.save .pt/.pth file): pickled objects are "
     "refused"),
    (zip_of({"notes.txt": b"hello"}), "entry 'notes.txt' is not a .npy array"),
    (zip_of({"W.npy": b"just some bytes"}), "entry W is not a .npy array (no .npy header)"),
    (zip_of({"W.npy": npy_header((2,)) + bytes(16)}, zipfile.ZIP_BZIP2), "uses zip compression method 12"),
])
def test_files_that_are_not_an_npz_of_arrays_say_what_they_are(data, words):
    with pytest.raises(ValueError) as e:
        read_npz(data, "not a model file")
    assert str(e.value).startswith("not a model file (an .npz of plain arrays): ")
    assert words in str(e.value), str(e.value)


def test_normal_model_files_still_load(tmp_path):
    model = Trainer(tasks.CopyTask(lag=5), TrainConfig(cell="gru", hidden_size=16)).model
    data = model_bytes(model, {"task": "copy"})
    back, extra = load_model(data)
    assert extra == {"task": "copy"}
    for k, v in model.params.items():
        np.testing.assert_array_equal(back.params[k], v)
    path = tmp_path / "m.npz"
    path.write_bytes(data)
    np.testing.assert_array_equal(load_model(path)[0].params["W_hh"], model.params["W_hh"])
    with open(path, "rb") as f:
        np.testing.assert_array_equal(load_model(f)[0].params["W_hh"], model.params["W_hh"])
    # compressed, Fortran-ordered, big-endian and 2.0-format arrays read exactly as np.load reads them
    buf = io.BytesIO()
    arrays = dict(F=np.asfortranarray(np.arange(12.0).reshape(3, 4)), be=np.arange(5, dtype=">f4"),
                  ints=np.arange(4, dtype=np.int16), flags=np.array([True, False]), scalar=np.float64(2.5),
                  empty=np.zeros((0, 3)))
    np.savez_compressed(buf, **arrays)
    got = read_npz(buf.getvalue(), "x")
    for k, v in arrays.items():
        np.testing.assert_array_equal(got[k], v)
        assert got[k].dtype == np.asarray(v).dtype and got[k].shape == np.shape(v)
    v2 = io.BytesIO()
    np.lib.format.write_array(v2, np.arange(3.0), version=(2, 0))
    np.testing.assert_array_equal(read_npz(zip_of({"a.npy": v2.getvalue()}), "x")["a"], np.arange(3.0))


# --- .safetensors ----------------------------------------------------------------------------------------------
def safetensors_bytes_raw(header: bytes, body: bytes) -> bytes:
    return len(header).to_bytes(8, "little") + header + body


def safetensors_of(header: dict, body: bytes) -> bytes:
    return safetensors_bytes_raw(json.dumps(header).encode(), body)


def test_safetensors_written_by_the_real_package_read_exactly_with_bf16_and_f16_as_float32():
    got = read_safetensors(GOLDEN_SAFETENSORS)
    want = golden_values()
    assert set(got) == set(want)
    for k, v in want.items():
        np.testing.assert_array_equal(got[k], v)
        assert got[k].flags.writeable
    assert got["fc.bias"].dtype == np.float32 and got["rnn.bias_ih_l0"].dtype == np.float32     # BF16
    assert got["rnn.bias_hh_l0"].dtype == np.float32                                           # F16
    assert got["fc.weight"].dtype == np.float64 and got["rnn.weight_hh_l0"].dtype == np.float32


def test_bf16_is_the_top_half_of_a_float32():
    x = np.array([1.0, -2.5, 3.140625, 65280.0, 2.0 ** -126], dtype=np.float32)
    bf16 = (x.view(np.uint32) >> 16).astype("<u2")
    data = safetensors_of({"x": {"dtype": "BF16", "shape": [5], "data_offsets": [0, 10]}}, bf16.tobytes())
    np.testing.assert_array_equal(read_safetensors(data)["x"], x)


@pytest.mark.parametrize("case,words", [
    ("too short", "the file is 5 bytes; a .safetensors file starts with an 8-byte header length"),
    ("truncated header", "the file is truncated: its header should be 416 bytes but only 200 follow the length"),
    ("truncated data", "lies at bytes [96, 120) of the data, past its end (100 bytes): the file is truncated"),
    ("huge header length", "it declares a JSON header of 1024 TB; the limit is 1 MB"),
    ("offsets past the end", "tensor 'x' lies at bytes [0, 8000) of the data, past its end (8 bytes)"),
    ("offsets disagree with the shape", "tensor 'x' declares shape (2, 2) of F64 = 32 bytes but its offsets span "
                                        "8 bytes"),
    ("overlap", "tensors 'x' and 'y' overlap in the data"),
    ("not JSON", "its header is not valid JSON"),
    ("a JSON list", "its header is a JSON list, not an object of tensors"),
    ("duplicate", "its header names a tensor twice ('x')"),
    ("fp8", "tensor 'x' has dtype 'F8_E4M3'; readable dtypes are F64, F32, F16, BF16"),
    ("negative shape", "tensor 'x' has shape [-1]"),
    ("over the limit", "its tensors hold 16 kB together; the limit is 10 kB"),
])
def test_bad_safetensors_files_are_refused_with_a_clear_message(case, words):
    one = {"x": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}
    data = {
        "too short": b"\x05\x00\x00\x00\x00",
        "truncated header": GOLDEN_SAFETENSORS[:208],
        "truncated data": GOLDEN_SAFETENSORS[:8 + 416 + 100],
        "huge header length": (2 ** 50).to_bytes(8, "little") + b"{}",
        "offsets past the end": safetensors_of({"x": {"dtype": "F64", "shape": [1000], "data_offsets": [0, 8000]}},
                                               bytes(8)),
        "offsets disagree with the shape": safetensors_of(
            {"x": {"dtype": "F64", "shape": [2, 2], "data_offsets": [0, 8]}}, bytes(8)),
        "overlap": safetensors_of(dict(one, y={"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}), bytes(8)),
        "not JSON": b"\x05\x00\x00\x00\x00\x00\x00\x00{abc}",
        "a JSON list": b"\x02\x00\x00\x00\x00\x00\x00\x00[]",
        "duplicate": safetensors_bytes_raw(b'{"x": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}, '
                                           b'"x": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}', bytes(8)),
        "fp8": safetensors_of({"x": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, bytes(1)),
        "negative shape": safetensors_of({"x": {"dtype": "F64", "shape": [-1], "data_offsets": [0, 0]}}, b""),
        "over the limit": safetensors_of({"x": {"dtype": "F64", "shape": [2048], "data_offsets": [0, 16384]}},
                                         bytes(16384)),
    }[case]
    kw = {"max_bytes": 10 * 1024} if case == "over the limit" else {}
    with pytest.raises(ValueError) as e:
        read_safetensors(data, "not a weights file", **kw)
    assert str(e.value).startswith("not a weights file: ")
    assert words in str(e.value), str(e.value)


def test_metadata_and_empty_tensors_are_fine():
    data = safetensors_of({"__metadata__": {"format": "pt"}, "e": {"dtype": "F32", "shape": [0, 4],
                                                                    "data_offsets": [0, 0]},
                           "i": {"dtype": "I64", "shape": [], "data_offsets": [0, 8]}},
                          np.int64(7).tobytes())
    got = read_safetensors(data)
    assert got["e"].shape == (0, 4) and got["i"] == 7 and set(got) == {"e", "i"}


# --- text uploads ----------------------------------------------------------------------------------------------
TEXT = "A naïve café owner — “quoted” — counts 1, 2, 3 and writes it down.\r\n" * 4


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-32", "utf-8"])
def test_unicode_text_uploads_are_decoded(encoding):
    data = TEXT.encode(encoding)
    corpus = corpus_from_upload(data, "notes.txt")
    assert corpus.text == TEXT.replace("\r\n", "\n")


def test_utf32_big_endian_with_a_byte_order_mark_is_decoded():
    data = b"\x00\x00\xfe\xff" + TEXT.encode("utf-32-be")
    assert corpus_from_upload(data, "x").text == TEXT.replace("\r\n", "\n")


@pytest.mark.parametrize("data,words", [
    (b"\xff\xfe" + "abcd".encode("utf-16-le") * 20 + b"\x00\xd8" + "abcd".encode("utf-16-le") * 20,
     "“f” looks like UTF-16 text but does not decode (illegal UTF-16 surrogate at byte 162)"),
    (b"\xff\xfe" + b"\x01\x00" * 200, "“f” looks like a binary file (200 control characters in the first 200 "
                                       "once read as UTF-16), not text"),
    (b"\xef\xbb\xbf" + b"abc\xff" * 40, "looks like UTF-8 (with a byte-order mark) text but does not decode"),
    (bytes(1000), "looks like a binary file (1000 control bytes in the first 1000)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "looks like a binary file"),
    ("naïve café résumé ".encode("latin-1") * 20, "is not UTF-8 text"),
    ("short".encode("utf-16"), "has 5 characters; a character model needs at least 100"),
    (b"", "is empty"),
], ids=["lone surrogate", "UTF-16 controls", "bad UTF-8 after a BOM", "zeros", "png", "latin-1", "short", "empty"])
def test_undecodable_or_binary_uploads_still_get_a_reason(data, words):
    with pytest.raises(CorpusError) as e:
        corpus_from_upload(data, "f")
    assert words in str(e.value), str(e.value)
