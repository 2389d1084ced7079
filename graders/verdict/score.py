"""Turn probe results into outcomes, messages and points: the only place scores are made.

Fail-closed: anything that is not a clean comparison of a value with the reference's scores 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ..inside import runtime
from . import typenote
from .checks import Check
from .compare import Verdict, as_numeric, render_value, unreadable
from .model import CaseResult, CheckResult, Outcome, PlotData
from .results import ProbeKind, ProbeResult
from .typenote import TypeVerdict


def shown_error(check: Check, err: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a student sees of their exception on this check. A hidden check shows its type
    and the student's own lines, never its message: their code may have put the hidden
    inputs, or the hidden data file it was handed, into it."""
    if err is None or check.feedback == "none":
        return None
    if check.hidden and check.feedback != "full":
        return {**err, "message": ""}
    return err


def _error_message(stub: str, err: dict[str, Any] | None, signature: str = "") -> str:
    if not err:
        return f"`{stub}` raised an error"
    msg = err.get("message", "")
    text = f"`{stub}` raised {err.get('type', 'an error')}" + (f": {msg}" if msg else "")
    if signature:  # the call did not fit the parameters (see wrong_call)
        text += (
            f". The checks call it as `{signature}`, as the template defines it: keep those "
            "parameters, in that order"
        )
    return text


def compared(check: Check, expected: Any, got: Any) -> Verdict:
    """The check's comparator on a student's value, any comparator, an author's own too. A
    value the kernel could only describe never passes (compare.unreadable); whatever the
    value makes the comparator raise (a number too large for a float, a structure too deep)
    fails the check: a student's value never makes the harness report an error."""
    if (no := unreadable(expected, got, check.label)) is not None:
        return no
    try:
        return check.compare(expected, got, check.label)
    except Exception as exc:  # any comparator, any value
        label = check.label or "result"
        return Verdict.fail(
            f"{label}: your value could not be compared with the expected one "
            f"({type(exc).__name__}); return plain numbers, arrays or lists of the expected shape"
        )


def wrong_call(stub: str, err: dict[str, Any]) -> bool:
    """Python's TypeError for a call that does not fit the function's parameters:
    "train() takes 5 positional arguments but 6 were given", "... missing 1 required ...",
    "... got an unexpected keyword argument ..."."""
    msg = str(err.get("message", ""))
    # a method's message names it Class.method(); a class's names Class.__init__()
    called = rf"{re.escape(stub)}(?:\.__init__)?\(\) (takes|missing|got)"
    return err.get("type") == "TypeError" and bool(re.match(called, msg))


def memory_kind(err: dict[str, Any] | None) -> str:
    """'gpu', 'ram' or '' for the student's exception (see :func:`runtime.memory_kind`)."""
    if not err:
        return ""
    return runtime.memory_kind(str(err.get("type", "")), str(err.get("message", "")))


MEMORY_ADVICE = {
    "gpu": "ran out of GPU memory: use smaller batches or tensors, and drop what you no longer "
    "need (`del` it; do not keep whole loss tensors in lists, keep `loss.item()`)",
    "ram": "ran out of memory: an array or list far larger than the inputs was allocated "
    "(check the shapes you create, e.g. an accidental (n, n) array)",
}


_NO_SUCH_FILE = re.compile(r"\[Errno 2\] No such file or directory: '([^'\n]{1,200})'")


def missing_file(error: dict[str, Any] | None) -> str:
    """The file a FileNotFoundError names ("" for any other error)."""
    if not error or error.get("type") != "FileNotFoundError":
        return ""
    m = _NO_SUCH_FILE.search(str(error.get("message", "")))
    return m.group(1) if m else ""


def failure_text(check: Check, got: ProbeResult, signature: str = "") -> str:
    """What the student reads when the stub raised (or is still the template's stub)."""
    stub = check.stub
    if got.kind == ProbeKind.NOT_IMPLEMENTED:
        return f"`{stub}` is not implemented yet: it still raises NotImplementedError."
    if got.kind != ProbeKind.ERROR:
        return f"This could not be run: {got.note or 'no result'}."
    if check.feedback == "none":
        return f"`{stub}` raised an exception on inputs that are not shown."
    missing = missing_file(got.error)
    if missing and not check.hidden:
        return (
            f"`{stub}` could not open the file `{missing}`: it is not there. This is about "
            f"where the notebook runs, not about `{stub}`'s code: the file must be at "
            f"`{missing}`, relative to the notebook's folder (the assignment's data files come "
            "with the notebook; put them beside it as they were handed out)."
        )
    memory = memory_kind(got.error)
    if memory:
        detail = f" ({got.error['type']})" if got.error else ""
        return f"`{stub}` {MEMORY_ADVICE[memory]}{detail}."
    shown = shown_error(check, got.error)
    fits = bool(got.error) and wrong_call(stub, got.error or {})  # judged on the real message
    text = _error_message(stub, shown, signature if fits else "")
    if shown is not None and got.error and got.error.get("message") and not shown["message"]:
        text += " (a hidden check does not show its message)"
    return text


def evaluate(
    check: Check, ref: ProbeResult | None, got: ProbeResult, signature: str = ""
) -> CheckResult:
    """The verdict on one check. ``signature``: the stub's as the template defines it, named
    when the student's function cannot be called the way the checks call it."""

    def result(outcome: Outcome, message: str, *, score: float = 0.0, **kw: Any) -> CheckResult:
        """A CheckResult for this check; ``kw`` carries expected/got, error or cases."""
        if check.hint and outcome in (Outcome.FAILED, Outcome.ERROR, Outcome.TIMEOUT):
            message = f"{message} Hint: {check.hint}"
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

    not_compared = _not_compared(check, ref, got, signature)
    if not_compared is not None:
        outcome, message, error = not_compared
        return result(outcome, message, error=error)
    assert ref is not None
    if check.cases or got.failed_cases:
        return _evaluate_cases(check, ref, got, result, signature)
    verdict = compared(check, ref.value, got.value)
    shown: dict[str, Any] = {}
    if check.feedback == "full":  # hidden checks show values only when their author says so
        shown = {"expected": render_value(ref.value), "got": render_value(got.value)}
        shown["plot"] = _plot_data(check, ref.value, got.value)
    if verdict.passed:
        typed = _types(check, ref.vtype, got.vtype)
        if typed.fails:
            return result(Outcome.FAILED, typed.text, **shown)
        return result(Outcome.PASSED, _with(typed, "Correct."), score=check.points, **shown)
    return result(Outcome.FAILED, _student_text(check, verdict), **shown)


def _types(check: Check, expected: Any, got: Any) -> TypeVerdict:
    """The type notes on a right value (typenote.py); a check that shows nothing of a
    failure shows none, but its failures count."""
    typed = typenote.judge(check.types, expected, got, check.label)
    if check.feedback != "none" or not typed.text:
        return typed
    if typed.fails:
        return TypeVerdict(True, "Wrong result on inputs that are not shown.")
    return TypeVerdict()  # a note would say more than "none" shows


def _with(typed: TypeVerdict, text: str) -> str:
    return f"{text} {typed.text}" if typed.text else text


def _not_compared(
    check: Check, ref: ProbeResult | None, got: ProbeResult, signature: str
) -> tuple[Outcome, str, dict[str, Any] | None] | None:
    """Outcome, message and the exception shown, when there is no value to compare."""
    stub = check.stub
    if got.kind == ProbeKind.MISSING:
        name = got.note or stub
        return (
            Outcome.MISSING,
            (
                f"`{name}` is not defined. Define it in your notebook "
                "(if you did, look for an error in the cell that defines it)."
            ),
            None,
        )
    if got.kind == ProbeKind.NOT_IMPLEMENTED:
        return Outcome.MISSING, failure_text(check, got), None
    if got.kind == ProbeKind.ERROR:
        return Outcome.ERROR, failure_text(check, got, signature), shown_error(check, got.error)
    if got.kind == ProbeKind.TIMEOUT:
        at = where(got)
        return (
            Outcome.TIMEOUT,
            (
                f"`{stub}` did not finish in time ({got.note or 'timeout'}). "
                "Look for a loop that never ends." + (f" It was running {at}." if at else "")
            ),
            None,
        )
    if got.kind == ProbeKind.NOT_RERUN:
        return Outcome.ERROR, f"Not run: {got.note}.", None
    if got.kind == ProbeKind.DIED:
        return (
            Outcome.ERROR,
            (
                f"The kernel died while running `{stub}` ({got.note}). "
                "Large allocations or a crash in your code can do this."
            ),
            None,
        )
    if got.kind == ProbeKind.SKIPPED:
        return Outcome.SKIPPED, f"Not run: {got.note}.", None
    if got.kind != ProbeKind.VALUE:
        return Outcome.ERROR, f"This check could not be run: {got.note}.", None
    if ref is None or ref.kind != ProbeKind.VALUE:
        return (
            Outcome.ERROR,
            (
                "The grader could not compute the expected result for this check. "
                "This is not your fault: tell your instructor."
            ),
            None,
        )
    return None


def _series(value: Any, key: str | None) -> list[float] | None:
    if key is not None:
        value = value.get(key) if isinstance(value, dict) else None
    arr = as_numeric(value)
    if arr is None or arr.size < 2 or arr.size > 10_000:
        return None
    return [float(x) for x in arr.astype(np.float64).ravel()[:500]]


def _plot_data(check: Check, expected: Any, got: Any) -> PlotData | None:
    if check.plot is None:
        return None
    exp = _series(expected, check.plot_key)
    if exp is None:
        return None
    caption = (
        check.plot_caption
        or f"{check.plot_key or 'result'}, one value per position in the list, yours beside "
        "the reference's."
    )
    return PlotData(check.plot, check.plot_key, exp, _series(got, check.plot_key), caption)


def _student_text(check: Check, verdict: Verdict) -> str:
    if check.feedback == "none":
        return "Wrong result on inputs that are not shown."
    return verdict.message if check.feedback == "full" else verdict.hint


def _evaluate_cases(
    check: Check,
    ref: ProbeResult,
    probe: ProbeResult,
    result: Callable[..., CheckResult],
    signature: str,
) -> CheckResult:
    """Each case scored on its own: one that raised costs that case only."""
    expected, got = ref.value, probe.value
    note = ""
    if not isinstance(expected, dict):
        return result(
            Outcome.ERROR, "The grader's expected result is malformed: tell your instructor."
        )
    if not isinstance(got, dict):
        return result(Outcome.ERROR, "This check's probe returned malformed data.")
    cases: list[CaseResult] = []
    failures: list[str] = []
    for case, exp in expected.items():
        entry, typed = _case_entry(check, case, exp, ref, probe, signature)
        note = note or typed
        if entry.message is not None:
            failures.append(f"{case}: {entry.message}")
        cases.append(entry)
    raised = [r.error for r in probe.failed_cases.values() if r.kind == ProbeKind.ERROR]
    first_error = shown_error(check, raised[0]) if raised else None
    passed = len(cases) - len(failures)
    score = check.points * passed / len(cases) if cases else 0.0
    if not got and probe.failed_cases:  # every case raised: the outcome says so
        if check.feedback == "none":
            first = next(iter(probe.failed_cases.values()))
            return result(Outcome.ERROR, failure_text(check, first))
        head = "Every case raised an exception. " + "; ".join(failures[:3])
        return result(Outcome.ERROR, head, cases=cases, error=first_error)
    if check.feedback == "none":  # not even which cases failed
        if failures:
            text = f"{len(failures)} of {len(cases)} cases wrong on inputs that are not shown."
            return result(Outcome.FAILED, text, score=score)
        return result(Outcome.PASSED, f"Correct on all {len(cases)} cases.", score=score)
    if not failures:
        text = f"{f'Correct on all {len(cases)} cases.'} {note}".strip()
        return result(Outcome.PASSED, text, score=score, cases=cases)
    head = f"{len(failures)} of {len(cases)} cases wrong. " + "; ".join(failures[:3])
    return result(Outcome.FAILED, head, score=score, cases=cases)


def _case_entry(
    check: Check, case: str, exp: Any, ref: ProbeResult, probe: ProbeResult, signature: str
) -> tuple[CaseResult, str]:
    """One case's verdict, and its type note (if it passed with another type)."""
    entry, got, note = CaseResult(case, Outcome.PASSED), probe.value, ""
    raised = probe.failed_cases.get(case)
    if raised is not None:
        entry.outcome = _case_outcome(raised)
        entry.message = failure_text(check, raised, signature)
    elif case not in got:
        entry.outcome, entry.message = Outcome.FAILED, _student_text(check, Verdict.fail("not run"))
    else:
        verdict = compared(check, exp, got[case])
        typed = _types(check, _case(ref.vtype, case), _case(probe.vtype, case))
        if not verdict.passed or typed.fails:
            entry.outcome = Outcome.FAILED
            entry.message = _student_text(check, verdict) if not verdict.passed else typed.text
        note = typed.text if verdict.passed and not typed.fails else ""
    if check.feedback == "full":
        entry.expected = render_value(exp)
        entry.got = render_value(got[case]) if case in got else "(no value)"
    return entry, note


def _case(types: Any, case: str) -> Any:
    """One case's type from a probe's {case: type} (None: unknown, no note)."""
    return types.get(case) if isinstance(types, dict) else None


def _case_outcome(raised: ProbeResult) -> Outcome:
    return Outcome.MISSING if raised.kind == ProbeKind.NOT_IMPLEMENTED else Outcome.ERROR


def where(got: ProbeResult) -> str:
    """Where the student's code was when a check was interrupted (at its time limit, or by
    the student): their last frame, which the kernel's runtime reports, or ""."""
    frames = (got.error or {}).get("frames") or []
    if not frames:
        return ""
    f = frames[-1]
    return f"`{f['name']}` ({f['where']}, line {f['lineno']}: `{f['line']}`)"


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
