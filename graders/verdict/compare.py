"""Comparators: run in the harness, on decoded data, and explain a mismatch to a student.

A comparator returns a :class:`Verdict`. ``message`` may quote values (shown for public
checks); ``hint`` never quotes expected values or inputs (shown for hidden checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .codec import Opaque


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str = ""
    hint: str = ""

    @classmethod
    def ok(cls) -> Verdict:
        return cls(True)

    @classmethod
    def fail(cls, message: str, hint: str | None = None) -> Verdict:
        return cls(False, message, hint if hint is not None else message)


class Comparator(Protocol):
    def __call__(self, expected: Any, got: Any, label: str) -> Verdict: ...


def _scalar(v: Any, width: int) -> str:
    """A float to 6 significant digits; anything else as its repr, cut to ``width``."""
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    if isinstance(v, (complex, np.complexfloating)):
        return f"{complex(v):.6g}"
    text = repr(v)
    return text if len(text) <= width else text[: width - 3] + "..."


def _fmt(v: Any) -> str:
    """A value inside a sentence of a verdict ("expected 0.5, got 0.25")."""
    if isinstance(v, np.ndarray):
        if v.size <= 6:
            return np.array2string(v, precision=6, separator=", ")
        return f"an array of shape {tuple(v.shape)}"
    if isinstance(v, Opaque):
        return f"a {v.type_name}"
    return _scalar(v, 60)


def _kind(v: Any) -> str:
    if v is None:
        return "None"
    if isinstance(v, bool):
        return "a bool"
    if isinstance(v, (int, float, np.number)):
        return "a number"
    if isinstance(v, np.ndarray):
        return f"an array of shape {tuple(v.shape)}" if v.ndim else "a number"
    if isinstance(v, (list, tuple)):
        return f"a {type(v).__name__} of {len(v)} items"
    if isinstance(v, dict):
        return "a dict"
    if isinstance(v, Opaque):
        return f"a {v.type_name} ({v.text})"
    return f"a {type(v).__name__}"


def _has_opaque(v: Any, depth: int = 0) -> bool:
    if isinstance(v, Opaque) or depth > 40:
        return True
    if isinstance(v, (list, tuple)):
        return any(_has_opaque(x, depth + 1) for x in v)
    if isinstance(v, dict):
        return any(_has_opaque(x, depth + 1) for x in v.values())
    return False


def unreadable(expected: Any, got: Any, label: str) -> Verdict | None:
    """A value the kernel could only describe (an object, a datetime array) never passes: its
    description is not its value. None when both sides are data."""
    if _has_opaque(expected):
        return Verdict.fail(
            f"{label or 'result'}: the expected result is not data the grader can compare; "
            "tell your instructor"
        )
    if _has_opaque(got):
        return Verdict.fail(
            f"{label or 'result'}: got {_kind(got)}, which the grader cannot read as data: "
            "return numbers, strings, lists, tuples, dicts, or arrays/tensors of numbers",
            f"{label or 'result'} is not data the grader can read (numbers, strings, lists, "
            "dicts, arrays)",
        )
    return None


def as_numeric(v: Any) -> np.ndarray[Any, Any] | None:
    """A number, array or (nested) list of numbers as an array; None if it is not one."""
    if isinstance(v, bool):
        return np.asarray(v)
    if isinstance(v, (int, float, np.number, np.ndarray)):
        return np.asarray(v)
    if isinstance(v, (list, tuple)):
        parts = [as_numeric(x) for x in v]
        if any(p is None for p in parts):
            return None
        try:
            return np.asarray(parts)
        except ValueError:  # ragged
            return None
    return None


def _index(shape: tuple[int, ...], flat: int) -> str:
    idx = np.unravel_index(flat, shape) if shape else ()
    return "".join(f"[{i}]" for i in idx)


@dataclass(frozen=True)
class AllClose:
    """Numbers and arrays equal within tolerances; dicts and tuples compared item by item."""

    rtol: float = 1e-5
    atol: float = 1e-8
    check_shape: bool = True
    dtype_kinds: str | None = None  # e.g. "iub": the result must be integer-valued typed

    def __call__(self, expected: Any, got: Any, label: str) -> Verdict:
        if (no := unreadable(expected, got, label)) is not None:
            return no
        if isinstance(expected, dict):
            return self._dict(expected, got, label)
        label = label or "result"  # "" names a dict's fields alone; anything else needs a name
        if isinstance(expected, tuple) and not isinstance(got, tuple | list):
            return Verdict.fail(f"{label}: expected {_kind(expected)}, got {_kind(got)}")
        if isinstance(expected, tuple) and any(isinstance(e, dict | tuple) for e in expected):
            return self._items(expected, got, label)
        exp = as_numeric(expected)
        act = as_numeric(got)
        if exp is None:
            return Exact()(expected, got, label)
        if act is None:
            return Verdict.fail(f"{label}: expected {_kind(expected)}, got {_kind(got)}")
        if self.dtype_kinds is not None and act.dtype.kind not in self.dtype_kinds:
            return Verdict.fail(
                f"{label}: expected integer values (0/1), got dtype {act.dtype}",
            )
        shaped = self._shape(exp, act, label)
        if isinstance(shaped, Verdict):
            return shaped
        kind = np.complex128 if "c" in (exp.dtype.kind, shaped.dtype.kind) else np.float64
        try:
            e = exp.astype(kind)
            a = shaped.astype(kind)
        except (TypeError, ValueError, OverflowError):  # 10**400 is no float
            return Verdict.fail(f"{label}: expected numbers, got {_kind(got)}")
        return self._values(e, a, label)

    def _dict(self, expected: dict[str, Any], got: Any, label: str) -> Verdict:
        """Key by key, in the expected dict's order; the first difference is the verdict."""
        if not isinstance(got, dict):
            return Verdict.fail(f"{label}: expected {_kind(expected)}, got {_kind(got)}")
        for key in expected:
            if key not in got:
                return Verdict.fail(f"{label}: missing {key!r}")
            v = self(expected[key], got[key], f"{label}[{key!r}]" if label else key)
            if not v.passed:
                return v
        return Verdict.ok()

    def _items(self, expected: tuple[Any, ...], got: Any, label: str) -> Verdict:
        """A tuple holding structures: item by item."""
        if len(got) != len(expected):
            return Verdict.fail(
                f"{label}: expected {len(expected)} items, got {len(got)}",
                f"{label} has the wrong number of items: got {len(got)}",
            )
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            v = self(e, g, f"{label}[{i}]")
            if not v.passed:
                return v
        return Verdict.ok()

    def _shape(
        self, exp: np.ndarray[Any, Any], act: np.ndarray[Any, Any], label: str
    ) -> np.ndarray[Any, Any] | Verdict:
        """``act`` shaped like ``exp``, or the verdict on a shape that does not fit."""
        if self.check_shape and exp.shape != act.shape:
            if exp.size == act.size and exp.size > 1:
                note = " (same number of values: check for a missing reshape/flatten)"
            elif exp.ndim == 1 and act.ndim == 1:
                note = f" ({len(act)} values where {len(exp)} were expected)"
            else:
                note = ""
            return Verdict.fail(
                f"{label}: shape: expected {exp.shape}, got {act.shape}{note}",
                f"{label} has the wrong shape: got {act.shape}",
            )
        if not self.check_shape:
            if exp.size != act.size:
                return Verdict.fail(
                    f"{label}: expected {exp.size} values, got {act.size}",
                    f"{label} has the wrong number of values: got {act.size}",
                )
            return act.reshape(exp.shape)
        return act

    def _values(self, e: np.ndarray[Any, Any], a: np.ndarray[Any, Any], label: str) -> Verdict:
        """Within tolerance everywhere, or the first value that is not (and how many)."""
        close = np.isclose(a, e, rtol=self.rtol, atol=self.atol, equal_nan=True)
        if bool(np.all(close)):
            return Verdict.ok()
        bad = int(np.flatnonzero(~close.ravel())[0])
        where = f"{label}{_index(e.shape, bad)}"
        n_bad = int((~close).sum())
        more = f" ({n_bad} of {close.size} values differ)" if close.size > 1 else ""
        ev, av = e.ravel()[bad], a.ravel()[bad]
        if bool(np.isnan(av)):
            return Verdict.fail(f"{where}: got NaN{more}", f"{where} is NaN{more}")
        return Verdict.fail(
            f"{where}: expected {_fmt(ev)}, got {_fmt(av)}{more}",
            f"{where} differs from the expected value{more}",
        )


@dataclass(frozen=True)
class Exact:
    """Equal values (after turning sequences into arrays where both are numeric)."""

    def __call__(self, expected: Any, got: Any, label: str) -> Verdict:
        if (no := unreadable(expected, got, label)) is not None:
            return no
        label = label or "result"
        exp, act = as_numeric(expected), as_numeric(got)
        if exp is not None and act is not None:
            if exp.shape != act.shape:
                return Verdict.fail(
                    f"{label}: shape: expected {exp.shape}, got {act.shape}",
                    f"{label} has the wrong shape: got {act.shape}",
                )
            neq = exp != act
            if not bool(np.any(neq)):
                return Verdict.ok()
            bad = int(np.flatnonzero(neq.ravel())[0])
            where = f"{label}{_index(exp.shape, bad)}"
            return Verdict.fail(
                f"{where}: expected {_fmt(exp.ravel()[bad])}, got {_fmt(act.ravel()[bad])}",
                f"{where} differs from the expected value",
            )
        if expected == got:
            return Verdict.ok()
        return Verdict.fail(
            f"{label}: expected {_fmt(expected)}, got {_fmt(got)}",
            f"{label}: got {_kind(got)}, which is not the expected value",
        )


@dataclass(frozen=True)
class Within:
    """A number within an absolute distance of the expected one (e.g. an accuracy)."""

    delta: float

    def __call__(self, expected: Any, got: Any, label: str) -> Verdict:
        return AllClose(rtol=0.0, atol=self.delta)(expected, got, label)


def allclose(
    rtol: float = 1e-5,
    atol: float = 1e-8,
    *,
    check_shape: bool = True,
    dtype_kinds: str | None = None,
) -> AllClose:
    """Numbers and arrays equal within ``atol + rtol * |expected|`` (numpy's rule), same
    shape unless ``check_shape=False``; ``dtype_kinds`` (e.g. "iub") restricts the dtype."""
    return AllClose(rtol=rtol, atol=atol, check_shape=check_shape, dtype_kinds=dtype_kinds)


def exact() -> Exact:
    """Equal values, no tolerance (sequences of numbers compared as arrays)."""
    return Exact()


def within(delta: float) -> Within:
    """A number at most ``delta`` away from the expected one."""
    return Within(delta)


def render_value(v: Any, limit: int = 8) -> str:
    """A short, readable rendering for 'expected vs got' (public checks only)."""
    if isinstance(v, Opaque):
        return f"{v.type_name}: {v.text}"
    if isinstance(v, dict):
        inner = ", ".join(f"{k}: {render_value(x, 4)}" for k, x in list(v.items())[:6])
        return "{" + inner + (", ..." if len(v) > 6 else "") + "}"
    arr = as_numeric(v)
    if arr is not None and arr.ndim > 0:
        flat = arr.ravel()
        body = np.array2string(flat[:limit], precision=5, separator=", ")
        if flat.size > limit:
            body = body[:-1] + f", ... ({flat.size} values)]"
        kind = "list" if isinstance(v, list) else "tuple" if isinstance(v, tuple) else "array"
        shape = f" shape {tuple(arr.shape)}" if arr.ndim > 1 or kind == "array" else ""
        dtype = f" {arr.dtype}" if kind == "array" else ""
        return f"{kind}{shape}{dtype} {body}"
    return _scalar(v, 120)
