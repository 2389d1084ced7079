"""Behaviour pinned: every report of the scenario set (intro_ann) and of numpy_review's examples,
field by field, equals the stored one. A refactoring must leave these files unchanged; a change
that means to alter what students read rewrites them, and the diff shows exactly what changed:

    GRADER_GOLDEN_WRITE=1 .venv/bin/pytest tests/test_golden.py

Fields that depend on the machine or the moment (times, versions, the sandbox's description,
paths, the inputs key) and fields added since the files were written are left out.
"""

from __future__ import annotations

import json
import os
import re
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


def _digits(text: str) -> str:
    """A cell's output with its numbers masked: a notebook's own unseeded training prints
    other losses in every kernel (its text, and what was printed at all, still count)."""
    return re.sub(r"\d+", "#", text)


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
            | {"plot": {k: t["plot"][k] for k in PLOT_FIELDS} if t["plot"] else None}
            for t in r["tests"]
        ],
        "cells": [
            {"index": c["index"], "status": c["status"], "error": _plain(c["error"])}
            | {"output": _digits(c["output"])}
            for c in r["cells"]
        ],
        "events": [_plain(e) for e in r["events"]],
        "misconceptions": r["misconceptions"],
    }


def _compare(name: str, reports: dict[str, dict[str, Any]], exit_code: int) -> None:
    got = {"exit_code": exit_code} | {k: normalized(reports[k]) for k in sorted(reports)}
    path = GOLDEN / f"{name}.json"
    if WRITE:
        path.write_text(json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    want = json.loads(path.read_text())
    got = json.loads(json.dumps(got))  # tuples as lists, as the file has them
    differences = list(_differences(want, got, name))
    assert not differences, "\n".join(differences[:30])


def _differences(want: Any, got: Any, where: str) -> Any:
    """Each place where ``got`` differs from ``want``: its path, and both values."""
    if isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(set(want) | set(got)):
            if key not in got or key not in want:
                yield f"{where}.{key}: only in {'the file' if key in want else 'this run'}"
            else:
                yield from _differences(want[key], got[key], f"{where}.{key}")
    elif isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            yield from _differences(w, g, f"{where}[{i}]")
    elif want != got:
        yield f"{where}: the file has {want!r:.300}, this run {got!r:.300}"


def test_scenario_reports_are_unchanged(graded: GradedRun) -> None:
    _compare("intro_ann_scenarios", graded.reports, graded.proc.returncode)


def test_numpy_review_reports_are_unchanged(numpy_review: NumpyReviewRun) -> None:
    _compare("numpy_review_examples", numpy_review.reports, 0)
