"""Turn probe results into outcomes, messages and points: the only place scores are made.

Fail-closed: anything that is not a clean comparison of a value with the reference's scores 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .checks import Check
from .codec import Opaque
from .compare import Verdict, as_numeric
from .execute import ProbeResult
from .model import CheckResult, Outcome


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
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    text = repr(v)
    return text if len(text) <= 120 else text[:117] + "..."


def _error_message(stub: str, err: dict[str, Any] | None) -> str:
    if not err:
        return f"`{stub}` raised an error"
    msg = err.get("message", "")
    return f"`{stub}` raised {err.get('type', 'an error')}" + (f": {msg}" if msg else "")


def memory_kind(err: dict[str, Any] | None) -> str:
    """'gpu' for a CUDA out-of-memory error, 'ram' for a MemoryError, else ''."""
    if not err:
        return ""
    kind, msg = str(err.get("type", "")), str(err.get("message", ""))
    if kind == "OutOfMemoryError" or "CUDA out of memory" in msg:
        return "gpu"
    # torch on the CPU raises a RuntimeError: "DefaultCPUAllocator: can't allocate memory"
    if kind in ("MemoryError", "_ArrayMemoryError") or "can't allocate memory" in msg:
        return "ram"
    return ""


MEMORY_ADVICE = {
    "gpu": "ran out of GPU memory: use smaller batches or tensors, and drop what you no longer "
    "need (`del` it; do not keep whole loss tensors in lists, keep `loss.item()`)",
    "ram": "ran out of memory: an array or list far larger than the inputs was allocated "
    "(check the shapes you create, e.g. an accidental (n, n) array)",
}


def evaluate(check: Check, ref: ProbeResult | None, got: ProbeResult) -> CheckResult:
    def result(outcome: Outcome, message: str, *, score: float = 0.0, **kw: Any) -> CheckResult:
        """A CheckResult for this check; ``kw`` carries expected/got, error or cases."""
        return CheckResult(
            name=check.name,
            stub=check.stub,
            outcome=outcome,
            score=score,
            max_score=check.points,
            hidden=check.hidden,
            message=message,
            # What the student printed during a hidden check can reveal its inputs.
            output=got.output if check.feedback == "full" else "",
            feedback=check.feedback,
            duration=got.duration,
            **kw,
        )

    stub = check.stub
    if got.kind == "missing":
        name = got.note or stub
        return result(
            Outcome.MISSING,
            f"`{name}` is not defined. Define it in your notebook "
            "(if you did, look for an error in the cell that defines it).",
        )
    if got.kind == "not_implemented":
        return result(
            Outcome.MISSING,
            f"`{stub}` is not implemented yet: it still raises NotImplementedError.",
        )
    if got.kind == "error" and check.feedback == "none":
        return result(Outcome.ERROR, f"`{stub}` raised an exception on inputs that are not shown.")
    memory = memory_kind(got.error) if got.kind == "error" else ""
    if memory:
        detail = f" ({got.error['type']})" if got.error else ""
        return result(Outcome.ERROR, f"`{stub}` {MEMORY_ADVICE[memory]}{detail}.", error=got.error)
    if got.kind == "error":
        return result(Outcome.ERROR, _error_message(stub, got.error), error=got.error)
    if got.kind == "timeout":
        return result(
            Outcome.TIMEOUT,
            f"`{stub}` did not finish in time ({got.note or 'timeout'}). "
            "Look for a loop that never ends.",
        )
    if got.kind == "died" and got.note.startswith("an earlier check"):
        return result(Outcome.ERROR, f"Not run: {got.note}.")
    if got.kind == "died":
        return result(
            Outcome.ERROR,
            f"The kernel died while running `{stub}` ({got.note}). "
            "Large allocations or a crash in your code can do this.",
        )
    if got.kind == "skipped":
        return result(Outcome.SKIPPED, f"Not run: {got.note}.")
    if got.kind != "value":
        return result(Outcome.ERROR, f"This check could not be run: {got.note}.")
    if ref is None or ref.kind != "value":
        return result(
            Outcome.ERROR,
            "The grader could not compute the expected result for this check. "
            "This is not your fault: tell your instructor.",
        )

    if check.cases:
        return _evaluate_cases(check, ref.value, got.value, result)
    verdict = check.compare(ref.value, got.value, check.label)
    shown: dict[str, Any] = {}
    if check.feedback == "full":  # hidden checks show values only when their author says so
        shown = {"expected": render_value(ref.value), "got": render_value(got.value)}
        shown["plot"] = _plot_data(check, ref.value, got.value)
    if verdict.passed:
        return result(Outcome.PASSED, "Correct.", score=check.points, **shown)
    return result(Outcome.FAILED, _student_text(check, verdict), **shown)


def _series(value: Any, key: str | None) -> list[float] | None:
    if key is not None:
        value = value.get(key) if isinstance(value, dict) else None
    arr = as_numeric(value)
    if arr is None or arr.size < 2 or arr.size > 10_000:
        return None
    return [float(x) for x in arr.astype(np.float64).ravel()[:500]]


def _plot_data(check: Check, expected: Any, got: Any) -> dict[str, Any] | None:
    if check.plot is None:
        return None
    exp = _series(expected, check.plot_key)
    if exp is None:
        return None
    return {
        "kind": check.plot,
        "key": check.plot_key,
        "expected": exp,
        "got": _series(got, check.plot_key),
    }


def _student_text(check: Check, verdict: Verdict) -> str:
    if check.feedback == "none":
        return "Wrong result on inputs that are not shown."
    return verdict.message if check.feedback == "full" else verdict.hint


def _evaluate_cases(
    check: Check, expected: Any, got: Any, result: Callable[..., CheckResult]
) -> CheckResult:
    if not isinstance(expected, dict):
        return result(
            Outcome.ERROR, "The grader's expected result is malformed: tell your instructor."
        )
    if not isinstance(got, dict):
        return result(Outcome.ERROR, "This check's probe returned malformed data.")
    cases, failures = [], []
    for case, exp in expected.items():
        if case not in got:
            verdict = Verdict.fail("not run")
        else:
            verdict = check.compare(exp, got[case], check.label)
        entry: dict[str, Any] = {"name": case, "passed": verdict.passed}
        if not verdict.passed:
            entry["message"] = _student_text(check, verdict)
            failures.append(f"{case}: {entry['message']}")
        if check.feedback == "full":
            entry["expected"] = render_value(exp)
            entry["got"] = render_value(got.get(case))
        cases.append(entry)
    passed = len(cases) - len(failures)
    score = check.points * passed / len(cases) if cases else 0.0
    if check.feedback == "none":  # not even which cases failed
        if failures:
            text = f"{len(failures)} of {len(cases)} cases wrong on inputs that are not shown."
            return result(Outcome.FAILED, text, score=score)
        return result(Outcome.PASSED, f"Correct on all {len(cases)} cases.", score=score)
    if not failures:
        return result(
            Outcome.PASSED, f"Correct on all {len(cases)} cases.", score=score, cases=cases
        )
    head = f"{len(failures)} of {len(cases)} cases wrong. " + "; ".join(failures[:3])
    return result(Outcome.FAILED, head, score=score, cases=cases)


def summary_line(tests: list[CheckResult], score: float, max_score: float) -> str:
    """The first thing a student reads: the score and what to fix first."""
    wrong = [t for t in tests if t.outcome is not Outcome.PASSED]
    if not wrong:
        return f"{score:g}/{max_score:g}: every check passed."
    by_stub: dict[str, list[CheckResult]] = {}
    for t in wrong:
        by_stub.setdefault(t.stub, []).append(t)
    first = wrong[0]
    stubs = ", ".join(f"`{s}`" for s in by_stub)
    return f"{score:g}/{max_score:g}. To fix: {stubs}. Start with `{first.stub}`: {first.message}"
