"""The safe codec: how values cross the sandbox boundary.

Inside the kernel, probe results are encoded as JSON in which numeric arrays appear as
``{"__ndarray__": {"dtype": "<f8", "shape": [3], "data": "<base64>"}}``. The harness decodes
with ``json.loads`` and ``numpy.frombuffer`` on a whitelist of dtypes: data only, never pickle,
never code. Anything malformed raises :class:`CodecError`.

The encoder lives in ``graders/inside/runtime.py`` (it runs inside the kernel, where this package
is not importable); this module is the trusted decoder, and encodes the harness's own values
(the reference cache) with that same encoder.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np

from ..inside.runtime import ARRAY_KEY, OPAQUE_KEY, TUPLE_KEY, encode_value

# Only plain numeric dtypes may cross as arrays (complex too); strings and objects cross as
# lists, anything else as an opaque description that never passes a check.
ALLOWED_DTYPES = frozenset(
    f"{order}{kind}{size}"
    for order in "<>|"
    for kind, sizes in (
        ("f", (2, 4, 8)),
        ("i", (1, 2, 4, 8)),
        ("u", (1, 2, 4, 8)),
        ("b", (1,)),
        ("c", (8, 16)),
    )
    for size in sizes
)
MAX_DEPTH = 32
MAX_ELEMENTS = 10_000_000


class CodecError(ValueError):
    """The probe's payload is not well-formed data."""


class Opaque:
    """A value the kernel could not encode; only its type name and a short repr cross."""

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and (self.type_name, self.text) == (
            other.type_name,
            other.text,
        )

    def __hash__(self) -> int:
        return hash((self.type_name, self.text))


def _decode_array(spec: Any) -> np.ndarray[Any, Any]:
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data"}:
        raise CodecError("malformed array")
    dtype, shape, data = spec["dtype"], spec["shape"], spec["data"]
    if dtype not in ALLOWED_DTYPES:
        raise CodecError(f"dtype {dtype!r} is not allowed")
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise CodecError("malformed array shape")
    if len(shape) > MAX_DEPTH or math.prod(shape) > MAX_ELEMENTS:
        raise CodecError("array too large")
    if not isinstance(data, str):
        raise CodecError("malformed array data")
    raw = base64.b64decode(data.encode("ascii"), validate=True)
    dt = np.dtype(dtype)
    if len(raw) != math.prod(shape) * dt.itemsize:
        raise CodecError("array data does not match its shape")
    return np.frombuffer(raw, dtype=dt).reshape(shape).copy()


def _decode(obj: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise CodecError("value nested too deeply")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [_decode(v, depth + 1) for v in obj]
    if isinstance(obj, dict):
        if ARRAY_KEY in obj:
            if len(obj) != 1:
                raise CodecError("malformed array")
            return _decode_array(obj[ARRAY_KEY])
        if TUPLE_KEY in obj:
            items = obj[TUPLE_KEY]
            if len(obj) != 1 or not isinstance(items, list):
                raise CodecError("malformed tuple")
            return tuple(_decode(v, depth + 1) for v in items)
        if OPAQUE_KEY in obj:
            spec = obj[OPAQUE_KEY]
            if (
                len(obj) != 1
                or not isinstance(spec, dict)
                or not isinstance(spec.get("type"), str)
                or not isinstance(spec.get("repr"), str)
            ):
                raise CodecError("malformed opaque value")
            return Opaque(spec["type"][:100], spec["repr"][:300])
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise CodecError("dict keys must be strings")
            out[k] = _decode(v, depth + 1)
        return out
    raise CodecError(f"unexpected JSON value of type {type(obj).__name__}")


def decode(text: str | bytes) -> Any:
    """Decode a payload produced by the in-kernel encoder. Raises CodecError."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CodecError(f"not valid JSON: {exc}") from None
    return decode_parsed(obj)


def decode_parsed(obj: Any) -> Any:
    """:func:`decode` of JSON already parsed (a probe reply's value). Raises CodecError."""
    try:
        return _decode(obj)
    except (ValueError, TypeError, RecursionError, MemoryError) as exc:
        if isinstance(exc, CodecError):
            raise
        raise CodecError(str(exc) or type(exc).__name__) from None


def encode(value: Any) -> str:
    """Encode a decoded value again, as the kernel does (the reference cache, bundles):
    :class:`Opaque` stays opaque; any other type the wire format lacks raises CodecError."""

    def other(v: Any) -> Any:
        if isinstance(v, Opaque):
            return {OPAQUE_KEY: {"type": v.type_name, "repr": v.text}}
        raise CodecError(f"cannot encode {type(v).__name__}")

    return json.dumps(encode_value(value, other))
