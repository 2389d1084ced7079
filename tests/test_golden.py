"""Behaviour pinned: every report of the scenario set (intro_ann) and of numpy_review's examples,
field by field, equals the stored one. A refactoring must leave these files unchanged; a change
that means to alter what students read rewrites them, and the diff shows exactly what changed:

    GRADER_GOLDEN_WRITE=1 .venv/bin/pytest tests/test_golden.py

Fields that depend on the machine or the moment (times, versions, the sandbox's description,
paths, the inputs key) and fields added since the files were written are left out.

What must not move is compared exactly: scores, statuses, outcomes, named mistakes, cell
statuses, case names, event kinds and every word of a message. Numbers that come out of a
computation (plot series, expected/got, the numbers inside messages and errors) are compared
with a tolerance, because torch and numpy pick their SIMD kernels by CPU: the same float32
training loop ends one or two units in the last place apart on an AVX-512 and an AVX2 machine
(1200.9832763671875 against 1200.983154296875), which no verdict may depend on. The tolerance
is intro_ann's FLOAT comparator (rtol 1e-4, atol 1e-6), the loosest a check grades with; a
number printed in a message may also differ by one unit in its last printed digit (it was
rounded from such a float). ``tests/test_numerics.py`` grades the scenario set with torch on
another kernel path and compares it with these files.
"""

from __future__ import annotations

import json
import math
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GradedRun, NumpyReviewRun

pytestmark = pytest.mark.kernel
GOLDEN = Path(__file__).parent / "golden"
WRITE = bool(os.environ.get("GRADER_GOLDEN_WRITE"))

TEST_FIELDS = ("name", "stub", "score", "max_score", "status", "outcome", "output", "hidden",
               "expected", "got", "error", "stdout", "cases", "feedback", "mistake")  # fmt: skip
PLOT_FIELDS = ("kind", "key", "expected", "got")


def _plain(text: Any) -> Any:
    """Text without the folders a run happens to use: pytest's temporary ones, the venv's."""
    if isinstance(text, dict):
        return {k: _plain(v) for k, v in text.items()}
    if not isinstance(text, str):
        return text
    text = re.sub(r"/tmp/pytest-of-[^/]+/pytest-\d+/[^/\s'\"]+", "<tmp>", text)
    text = re.sub(r"/tmp/ipykernel_\d+/\d+\.py", "<cell>.py", text)  # a pid, a hash of code
    return re.sub(r"/[^\s'\"]*/site-packages/", "<site-packages>/", text)


def _progress(text: Any) -> Any:
    """A line a progress bar redrew (tqdm's carriage returns) as a terminal shows it, its
    last frame, with its numbers masked and its trailing blanks dropped: how many frames, what
    rate, and how wide the blanks that clear a finished bar (leave=False) depend on timing."""
    if not isinstance(text, str) or "\r" not in text:
        return text
    lines = text.split("\n")
    return "\n".join(
        _digits([f for f in line.split("\r") if f][-1]).rstrip()
        if "\r" in line and line.strip()
        else line
        for line in lines
    )


def _digits(text: str) -> str:
    """A cell's output with its numbers masked: a notebook's own unseeded training prints
    other losses in every kernel (its text, and what was printed at all, still count)."""
    return re.sub(r"\d+", "#", text)


def _interrupted(error: Any) -> Any:
    """An error whose code the harness interrupted (a time limit) with its first frame only:
    where in a loop the interrupt lands depends on timing (``while`` or the function it calls)."""
    tb = error.get("traceback", "") if isinstance(error, dict) else ""
    if not tb.lstrip("-\n").startswith("KeyboardInterrupt"):
        return error
    return error | {"traceback": tb.split("\n\n")[0] + "\n\n(further frames vary)"}


def normalized(r: dict[str, Any]) -> dict[str, Any]:
    sub = r["submission"]
    return {
        "status": r["status"],
        "score": r["score"],
        "max_score": r["max_score"],
        "reason": _plain(r["reason"]),
        "output": r["output"],
        "submission": {k: sub[k] for k in ("id", "kind", "sha256", "student", "student_id")}
        | {"note": _plain(sub["note"])},
        "assignment": r["assignment"],
        "data": r["data"],
        "tests": [
            {k: _plain(t[k]) for k in TEST_FIELDS}
            | {"stdout": _progress(_plain(t["stdout"]))}
            | {"plot": {k: t["plot"][k] for k in PLOT_FIELDS} if t["plot"] else None}
            for t in r["tests"]
        ],
        "cells": [
            {"index": c["index"], "status": c["status"], "error": _interrupted(_plain(c["error"]))}
            | {"output": _digits(_progress(c["output"]))}
            for c in r["cells"]
        ],
        "events": [_plain(e) for e in r["events"]],
        "misconceptions": r["misconceptions"],
    }


def golden_differences(
    name: str, reports: dict[str, dict[str, Any]], exit_code: int, write: bool = False
) -> list[str]:
    """Where these reports differ from the stored ones (``write`` stores them first)."""
    got = {"exit_code": exit_code} | {k: normalized(reports[k]) for k in sorted(reports)}
    path = GOLDEN / f"{name}.json"
    if write:
        path.write_text(json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    want = json.loads(path.read_text())
    got = json.loads(json.dumps(got))  # tuples as lists, as the file has them
    return list(_differences(want, got, name))


def _compare(name: str, reports: dict[str, dict[str, Any]], exit_code: int) -> None:
    differences = golden_differences(name, reports, exit_code, WRITE)
    assert not differences, "\n".join(differences[:30])


RTOL, ATOL = 1e-4, 1e-6  # intro_ann's FLOAT comparator, the loosest any check grades with
EXACT = {"score", "max_score", "exit_code", "index"}  # numbers that are verdicts, not results
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def close(want: float, got: float, printed_unit: float = 0.0) -> bool:
    """Equal within the tolerance (NaN equals NaN); ``printed_unit`` is the last printed
    digit's value, for a number that was rounded when it was written into a text."""
    if math.isnan(want) or math.isnan(got):
        return math.isnan(want) and math.isnan(got)
    return math.isclose(want, got, rel_tol=RTOL, abs_tol=ATOL) or abs(want - got) <= (
        printed_unit * 1.000001
    )


def _unit(token: str) -> float:
    exponent = Decimal(token).as_tuple().exponent
    return 10.0**exponent if isinstance(exponent, int) and exponent < 0 else 0.0


def texts_agree(want: str, got: str) -> bool:
    """The same words, and numbers that agree (see the module's docstring)."""
    if NUMBER.sub("#", want) != NUMBER.sub("#", got):
        return False
    pairs = zip(NUMBER.findall(want), NUMBER.findall(got), strict=True)
    return all(close(float(w), float(g), max(_unit(w), _unit(g))) for w, g in pairs)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _differences(want: Any, got: Any, where: str, exact: bool = False) -> Any:
    """Each place where ``got`` differs from ``want``: its path, and both values."""
    if isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(set(want) | set(got)):
            if key not in got or key not in want:
                yield f"{where}.{key}: only in {'the file' if key in want else 'this run'}"
            else:
                yield from _differences(want[key], got[key], f"{where}.{key}", key in EXACT)
    elif isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            yield from _differences(w, g, f"{where}[{i}]", exact)
    elif not _agree(want, got, exact):
        yield f"{where}: the file has {want!r:.300}, this run {got!r:.300}"


def _agree(want: Any, got: Any, exact: bool) -> bool:
    if want == got:
        return True
    if _is_number(want) and _is_number(got):
        return not exact and close(want, got)
    return isinstance(want, str) and isinstance(got, str) and texts_agree(want, got)


def test_scenario_reports_are_unchanged(graded: GradedRun) -> None:
    _compare("intro_ann_scenarios", graded.reports, graded.proc.returncode)


def test_numpy_review_reports_are_unchanged(numpy_review: NumpyReviewRun) -> None:
    _compare("numpy_review_examples", numpy_review.reports, 0)
