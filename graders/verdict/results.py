"""What comes back from a kernel: a cell's record and a probe's result, decoded as data.

A probe's value travels in the ``user_expressions`` of its own ``execute_reply`` as JSON (plus
raw numeric arrays, see :mod:`graders.verdict.codec`); anything else is ``invalid``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .codec import CodecError, decode_parsed
from .typenote import clean_type

PAYLOAD_MIME = "application/vnd.grader.probe+json"
# One check's reply, before it is parsed: JSON of nested lists costs the harness ~20x its
# length in Python objects, so a kernel within its own memory limit could otherwise make the
# host hold gigabytes. 16 MB carries an array of 1.5 million float64 (base64).
MAX_PAYLOAD_CHARS = 16 * 1024 * 1024


class CellStatus(StrEnum):
    OK = "ok"
    ERROR = "error"  # the student's code raised
    TIMEOUT = "timeout"
    DIED = "died"  # the kernel died running it (memory, a crash, output flood)
    SKIPPED = "skipped"  # skip-grading, empty, after the deadline, or the kernel is gone


class ProbeKind(StrEnum):
    VALUE = "value"
    MISSING = "missing"  # the stub's name is not defined
    NOT_IMPLEMENTED = "not_implemented"  # the stub still raises NotImplementedError
    ERROR = "error"  # the student's code raised
    TIMEOUT = "timeout"
    DIED = "died"  # the kernel died during the probe
    INVALID = "invalid"  # the result was not valid data
    SKIPPED = "skipped"  # a prerequisite did not pass, no kernel, no time left
    NOT_RERUN = "not_rerun"  # an earlier check of the same stub crashed the kernel


@dataclass
class CellRecord:
    index: int
    status: CellStatus
    error: dict[str, Any] | None = None
    output: str = ""
    duration: float = 0.0


@dataclass
class ProbeResult:
    kind: ProbeKind
    value: Any = None
    error: dict[str, Any] | None = None
    output: str = ""
    duration: float = 0.0
    note: str = ""
    # The value's type as the runtime described it (runtime.describe_type; checked with
    # typenote.clean): tensors cross the wire as arrays, so the value alone cannot say.
    # A probe that ran cases has {case: type}.
    vtype: Any = None
    # A probe whose cases ran one by one (ctx.case): ``value`` maps the cases that returned to
    # their values; each case that raised is here instead (kind error | not_implemented).
    failed_cases: dict[str, ProbeResult] = field(default_factory=dict)

    def without_failed_cases(self) -> ProbeResult:
        """For the reference, which must return on every case: the first failed case's error
        stands for the whole check."""
        if not self.failed_cases:
            return self
        name, first = next(iter(self.failed_cases.items()))
        return ProbeResult(first.kind, error=first.error, note=f"case {name!r}")


INVALID = "the check's result was not valid data"


def needs_first(failed: list[str]) -> ProbeResult:
    """A check not run because its prerequisites did not pass."""
    needs = " and ".join(f"“{d}”" for d in failed)
    return ProbeResult(ProbeKind.SKIPPED, note=f"it needs {needs} to pass first")


def decode_reply(content: Any) -> ProbeResult:
    """A probe's result from its execute_reply. The kernel may be tampered with: whatever
    shape the reply has, the answer is a result (invalid at worst), never an exception."""
    try:
        expr = _field(_field(content, "user_expressions"), "r")
        ok = expr.get("status") == "ok"
        return decode_payload(_field(expr, "data").get(PAYLOAD_MIME) if ok else None)
    except (RecursionError, MemoryError, ValueError, TypeError, AttributeError):
        return ProbeResult(ProbeKind.INVALID, note=INVALID)


def _field(d: Any, key: str) -> dict[str, Any]:
    value = d.get(key) if isinstance(d, dict) else None
    return value if isinstance(value, dict) else {}


def decode_payload(payload: Any) -> ProbeResult:
    """The runtime's result of one probe (:meth:`graders.inside.runtime.Runtime.take`), as data."""
    if not isinstance(payload, str) or not payload:
        return ProbeResult(
            ProbeKind.INVALID, note="the check produced no result (was the kernel tampered with?)"
        )
    if len(payload) > MAX_PAYLOAD_CHARS:
        size = f"{len(payload) / 2**20:.0f} MB; the limit is {MAX_PAYLOAD_CHARS // 2**20} MB"
        return ProbeResult(ProbeKind.INVALID, note=f"the result is too large to read ({size})")
    try:
        raw = json.loads(payload)
    except (ValueError, RecursionError, MemoryError):
        return ProbeResult(ProbeKind.INVALID, note=INVALID)
    if isinstance(raw, dict) and raw.get("kind") == "cases":
        return _decode_cases(raw.get("cases"))
    return _decode_result(raw)


def _decode_result(raw: Any) -> ProbeResult:
    """One result the runtime sent: the probe's, or one case's."""
    kind = raw.get("kind") if isinstance(raw, dict) else None
    if kind == "value":
        try:
            value = decode_parsed(raw.get("value"))
        except CodecError as exc:
            return ProbeResult(ProbeKind.INVALID, note=f"the result could not be read: {exc}")
        return ProbeResult(ProbeKind.VALUE, value=value, vtype=clean_type(raw.get("type")))
    if kind == "missing":
        return ProbeResult(ProbeKind.MISSING, note=str(raw.get("name", ""))[:100])
    if kind in ("error", "not_implemented"):
        return ProbeResult(ProbeKind(kind), error=_clean_error(raw.get("error")))
    if kind == "interrupted":  # where the student's code was, when it carries it
        err = raw.get("error")
        return ProbeResult(ProbeKind.TIMEOUT, error=_clean_error(err) if err else None)
    return ProbeResult(ProbeKind.INVALID, note=INVALID)


def _decode_cases(cases: Any) -> ProbeResult:
    """A probe that ran its cases one by one: the values of those that returned, and the
    result of each that did not (it raised, or sent something unreadable). Every case raising
    NotImplementedError is a stub left as is."""
    if not isinstance(cases, dict) or not cases:
        return ProbeResult(ProbeKind.INVALID, note=INVALID)
    values: dict[str, Any] = {}
    types: dict[str, Any] = {}
    failed: dict[str, ProbeResult] = {}
    for name, case in cases.items():
        r = _decode_result(case)
        if r.kind == ProbeKind.VALUE:
            values[str(name)] = r.value
            types[str(name)] = r.vtype
        elif r.kind in (ProbeKind.ERROR, ProbeKind.NOT_IMPLEMENTED, ProbeKind.INVALID):
            failed[str(name)] = r
        else:  # the runtime sends a case only as value, error or not_implemented
            failed[str(name)] = ProbeResult(ProbeKind.INVALID, note=INVALID)
    if not values and all(f.kind == ProbeKind.NOT_IMPLEMENTED for f in failed.values()):
        return ProbeResult(ProbeKind.NOT_IMPLEMENTED, error=next(iter(failed.values())).error)
    return ProbeResult(ProbeKind.VALUE, value=values, failed_cases=failed, vtype=types)


def _clean_error(err: Any) -> dict[str, Any]:
    """The kernel's description of an exception, reduced to strings we can render safely."""
    if not isinstance(err, dict):
        return {"type": "Error", "message": "", "frames": []}
    frames = []
    for f in err.get("frames", [])[:20] if isinstance(err.get("frames"), list) else []:
        if isinstance(f, dict):
            frames.append(
                {
                    "where": _text(f.get("where", ""), 200),
                    "lineno": f.get("lineno") if isinstance(f.get("lineno"), int) else None,
                    "name": _text(f.get("name", ""), 200),
                    "line": _text(f.get("line", ""), 300),
                }
            )
    return {
        "type": _text(err.get("type", "Error"), 100) or "Error",
        "message": _text(err.get("message", ""), 2000),
        "frames": frames,
    }


def _text(v: Any, limit: int) -> str:
    """A string field of the kernel's: strings and numbers as text, anything else (a list
    nested a thousand deep, say) as nothing."""
    return str(v)[:limit] if isinstance(v, (str, int, float)) else ""
