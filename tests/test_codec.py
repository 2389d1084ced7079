"""The codec is the trust boundary's decoder: data in, data out, anything else refused."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from graders.verdict.codec import CodecError, Opaque, decode, encode


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        [1, 2.5, None, True, "x"],
        {"a": (1, 2), "b": {"c": [3]}},
        np.arange(6, dtype=np.float32).reshape(2, 3),
        np.array(3.0),  # 0-d stays 0-d
        np.array([True, False]),
        np.zeros((0, 4), dtype=np.int64),
    ],
)
def test_round_trip(value: object) -> None:
    got = decode(encode(value))
    if isinstance(value, np.ndarray):
        assert isinstance(got, np.ndarray)
        assert got.dtype == value.dtype and got.shape == value.shape
        np.testing.assert_array_equal(got, value)
    else:
        assert got == value


def _arr(dtype: str, shape: list[int], data: bytes) -> str:
    spec = {"dtype": dtype, "shape": shape, "data": base64.b64encode(data).decode()}
    return json.dumps({"__ndarray__": spec})


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (_arr("|O8", [1], b"\0" * 8), "not allowed"),  # object arrays would mean pickle
        (_arr("<V8", [1], b"\0" * 8), "not allowed"),
        (_arr("<f8", [2], b"\0" * 8), "does not match"),
        (_arr("<f8", [10**9, 10**9], b""), "too large"),
        (_arr("<f8", [-1], b""), "shape"),
        ('{"__ndarray__": {"dtype": "<f8"}}', "malformed"),
        (
            '{"__ndarray__": {"dtype": "<f8", "shape": [1], "data": "!!"}}',
            "base64|Incorrect|Invalid",
        ),
        ("[" * 5000 + "]" * 5000, "deep|recursion"),
        ("not json", "not valid JSON"),
        ('{"__tuple__": 3}', "malformed tuple"),
    ],
)
def test_malformed_payloads_are_refused(payload: str, fragment: str) -> None:
    with pytest.raises(CodecError, match=fragment):
        decode(payload)


def test_opaque_values_cross_as_text_only() -> None:
    got = decode('{"__opaque__": {"type": "Tensor", "repr": "' + "x" * 1000 + '"}}')
    assert isinstance(got, Opaque)
    assert got.type_name == "Tensor" and len(got.text) == 300


def test_the_kernels_encoder_round_trips_what_a_student_returns() -> None:
    """The in-kernel encoder (graders/inside/runtime.py) is the one that runs on every probe."""
    import torch

    from graders.inside.runtime import encode_value

    value = {
        "loss": np.float32(0.25),
        "w": torch.arange(6, dtype=torch.float32).reshape(2, 3),
        "half": torch.ones(2, dtype=torch.bfloat16),
        "pair": (np.int64(3), [True, None]),
        7: "key made a string",
    }
    got = decode(json.dumps(encode_value(value)))
    assert got["loss"] == 0.25 and isinstance(got["loss"], float)
    np.testing.assert_array_equal(got["w"], np.arange(6, dtype=np.float32).reshape(2, 3))
    assert got["w"].dtype == np.float32
    assert got["half"].dtype == np.float32  # bfloat16 has no numpy dtype
    assert got["pair"] == (3, [True, None])
    assert got["7"] == "key made a string"


def test_the_kernels_encoder_sends_strings_and_complex_as_data_and_others_opaque() -> None:
    from graders.inside.runtime import encode_value

    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    when = np.array(["2026-01-01"], dtype="datetime64[D]")
    objects = np.array([1, "x"], dtype=object)
    values = [Hostile(), np.array(["a", "b"]), 1 + 2j, np.zeros(3, complex), when, objects]
    got = decode(json.dumps(encode_value(values)))
    assert got[0] == Opaque("Hostile", "<unrepresentable>")
    assert got[1] == ["a", "b"]  # strings as strings
    assert got[2].dtype == np.complex128 and got[2] == 1 + 2j  # complex as numbers
    assert got[3].dtype == np.complex128 and got[3].shape == (3,)
    assert isinstance(got[4], Opaque) and "datetime64" in got[4].text
    assert got[5] == [1, "x"]


def test_values_that_cross_only_as_descriptions_never_pass() -> None:
    """#32.4: an FFT stub returning zeros of the wrong length, a label stub returning junk
    strings, an object whose repr matches: each fails, with a message."""
    from graders.verdict.compare import allclose, exact

    fft = np.fft.fft(np.arange(7.0))
    wrong = np.zeros(12, complex)
    assert not allclose()(fft, wrong, "X").passed
    assert "shape" in allclose()(fft, wrong, "X").message
    assert not allclose()(fft, fft.conj(), "X").passed
    assert allclose()(fft, fft + 1e-12, "X").passed
    assert not exact()(["cat", "dog"], ["xyz"] * 7, "labels").passed
    assert exact()(["cat", "dog"], ["cat", "dog"], "labels").passed
    same = Opaque("Thing", "<Thing>")
    v = exact()(same, same, "r")
    assert not v.passed and "instructor" in v.message
    v = allclose()(1.0, same, "r")
    assert not v.passed and "cannot read" in v.message
    assert not allclose()([1.0, 2.0], [1.0, Opaque("X", "2.0")], "r").passed


def test_a_number_too_large_fails_the_check_not_the_harness() -> None:
    """#32.5: 10**400 is no float; the comparison fails the check with a message."""
    from dataclasses import replace

    from graders.verdict.checks import Check, Visibility
    from graders.verdict.compare import Verdict, allclose
    from graders.verdict.model import Outcome
    from graders.verdict.results import ProbeKind, ProbeResult
    from graders.verdict.score import evaluate

    assert not allclose()(0.5, 10**400, "loss").passed
    check = Check(name="f: x", stub="f", description="", func_name="x", source="", points=2,
                  visibility=Visibility.PUBLIC, compare=lambda e, g, lbl: 1 / 0, label="loss",
                  cases=False, timeout=None)  # fmt: skip
    ref = ProbeResult(ProbeKind.VALUE, value=0.5)
    r = evaluate(check, ref, ProbeResult(ProbeKind.VALUE, value=10**400))
    assert r.outcome is Outcome.FAILED and "ZeroDivisionError" in r.message and r.score == 0
    # an author's own comparator never sees a description as a value either
    lenient = replace(check, compare=lambda e, g, lbl: Verdict.ok())
    same = Opaque("Thing", "<Thing>")
    r = evaluate(
        lenient, ProbeResult(ProbeKind.VALUE, value=same), ProbeResult(ProbeKind.VALUE, value=same)
    )
    assert r.outcome is Outcome.FAILED and r.score == 0


def test_the_harness_encodes_with_the_kernels_encoder() -> None:
    assert (
        encode(Opaque("Tensor", "tensor([1])"))
        == '{"__opaque__": {"type": "Tensor", "repr": "tensor([1])"}}'
    )
    with pytest.raises(CodecError, match="cannot encode set"):
        encode({1, 2})
    nested: list[object] = []
    for _ in range(40):
        nested = [nested]
    with pytest.raises(ValueError, match="nested too deeply"):
        encode(nested)
