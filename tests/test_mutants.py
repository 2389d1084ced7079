"""`grader verify --mutants`: one-change variants of the reference, graded; survivors listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graders.analysis.mutants import make_mutants
from tests.conftest import run_grader

PLANTED = '''"""Reference solution for hw_mut."""

import numpy as np


def mse(y, yhat):
    y, yhat = np.asarray(y, dtype=float), np.asarray(yhat, dtype=float)
    if y.ndim > 1:  # (N, 1) columns: no check's input has them
        y, yhat = y.ravel(), yhat.ravel()
    return float(np.mean((y - yhat) ** 2))
'''


def test_mutants_change_one_thing_inside_the_stubs_only() -> None:
    made = make_mutants(PLANTED + "\n\ndef helper(a, b):\n    return a + b\n", ("mse",))
    assert {m.stub for m in made} == {"mse"}  # helper is not a stub: not mutated
    ops = {(m.line, m.operator, m.after) for m in made}
    assert (8, "comparison", "if y.ndim >= 1:") in ops
    assert (10, "operator", "return float(np.mean((y - yhat) * 2))") in ops
    assert (10, "method", "return float(np.mean((y - yhat) ** 2))") not in ops  # np.mean: a
    assert len({m.source for m in made}) == len(made)  # function, not a method: left alone
    for m in made:
        compile(m.source, m.id, "exec")


@pytest.mark.kernel
def test_a_planted_gap_in_the_checks_is_reported_with_its_line(tmp_path: Path) -> None:
    made = run_grader(["new", "hw_mut"], tmp_path, tmp_path / "c")
    assert made.returncode == 0, made.stderr
    (tmp_path / "reference" / "hw_mut" / "solution.py").write_text(PLANTED)
    out = tmp_path / "mutants.json"
    proc = run_grader(["verify", "hw_mut", "--mutants-json", str(out)], tmp_path, tmp_path / "c")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    s = json.loads(out.read_text())
    assert s["mutants"] == len(make_mutants(PLANTED, ("mse",)))
    assert 0 < s["killed"] < s["mutants"]
    by_line = {(v["line"], v["operator"]): v for v in s["survivors"]}
    planted = by_line[(8, "comparison")]  # `>=`: every 1-d input is raveled, to no effect
    assert planted["before"] == "if y.ndim > 1:  # (N, 1) columns: no check's input has them"
    assert planted["after"] == "if y.ndim >= 1:" and planted["identical"]
    assert (
        "identical on the checks' inputs: " in proc.stdout and "line 8 (comparison)" in proc.stdout
    )
    # what the checks do catch is not among the survivors
    assert not {(10, "operator"), (10, "dropped .ravel()")} & set(by_line)


def test_a_method_stub_mutates_that_method_only() -> None:
    source = (
        "class Data:\n    def __init__(self, n):\n        self.n = n + 1\n\n"
        "    def __getitem__(self, i):\n        return i * 2\n"
    )
    made = make_mutants(source, ("Data.__getitem__",))
    assert made and {m.line for m in made} == {6}  # __init__ is the template's: left alone
    assert {m.stub for m in made} == {"Data.__getitem__"}
