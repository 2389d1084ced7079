"""The codec is the trust boundary's decoder: data in, data out, anything else refused."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from graders.codec import CodecError, Opaque, decode, encode


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
    """The in-kernel encoder (graders/runtime.py) is the one that runs on every probe."""
    import torch

    from graders.runtime import encode_value

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


def test_the_kernels_encoder_makes_other_values_opaque() -> None:
    from graders.runtime import encode_value

    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    got = decode(json.dumps(encode_value([Hostile(), np.array(["a", "b"]), 1 + 2j])))
    assert got[0] == Opaque("Hostile", "<unrepresentable>")
    assert got[1].type_name == "ndarray" and "dtype <U1" in got[1].text
    assert got[2] == Opaque("complex", "(1+2j)")


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
