"""Variables as answers (#36): a stub may be a name a cell assigns (otter's "assign the grouped
means to `price_by_flavor`"), checked by value against the reference's like any result. One
assignment made with `grader new`, verified, and three notebooks graded in real kernels."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.conftest import run_grader

pytestmark = pytest.mark.kernel
PRICES = 'prices = {"vanilla": [2.0, 3.0], "chocolate": [4.0, 5.0, 6.0]}'
CHECK = '''

@check(stub="price_by_flavor", points=10, compare=FLOAT, label="price_by_flavor")
def price_value(student, ctx):
    """the mean price of each flavour"""
    return student.price_by_flavor
'''
ANSWERS = {
    "right": "{k: float(np.mean(v)) for k, v in prices.items()}",
    "sums": "{k: float(np.sum(v)) for k, v in prices.items()}",
    "untouched": "...",
}


def _assignment(home: Path) -> None:
    """`grader new`'s assignment with a second stub that is a variable."""
    made = run_grader(["new", "hw_var"], home, home / "c")
    assert made.returncode == 0, made.stderr
    a = home / "assignments" / "hw_var"
    toml = a / "assignment.toml"
    toml.write_text(
        toml.read_text().replace('stubs = ["mse"]', 'stubs = ["mse", "price_by_flavor"]')
    )
    checks = a / "checks.py"
    checks.write_text(checks.read_text().replace('stub="mse", points=40', 'stub="mse", points=30')
                      + CHECK)  # fmt: skip
    ref = home / "reference" / "hw_var" / "solution.py"
    ref.write_text(ref.read_text() + f"\n\n{PRICES}\nprice_by_flavor = {ANSWERS['right']}\n")
    nb = nbformat.read(a / "template.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(
        "Assign the mean price of each flavour to `price_by_flavor` (a dict)."))  # fmt: skip
    nb.cells.append(nbformat.v4.new_code_cell(f"{PRICES}\nprice_by_flavor = ...  # your answer"))
    nbformat.write(nb, a / "template.ipynb")


def _submissions(home: Path) -> Path:
    """The template with `mse` solved and each answer in the variable's cell."""
    tmpl = nbformat.read(home / "assignments" / "hw_var" / "template.ipynb", as_version=4)
    ref = (home / "reference" / "hw_var" / "solution.py").read_text()
    mse = ref[ref.index("def mse") : ref.index("\n\n\n", ref.index("def mse"))]
    subs = home / "subs"
    subs.mkdir()
    for name, answer in ANSWERS.items():
        nb = copy.deepcopy(tmpl)
        for c in nb.cells:
            if c.cell_type == "code" and "def mse" in c.source:
                c.source = mse
            if c.cell_type == "code" and "price_by_flavor = ..." in c.source:
                c.source = c.source.replace("...", answer, 1)
        nbformat.write(nb, subs / f"{name}.ipynb")
    return subs


def test_a_variable_answer_is_graded_by_value(tmp_path: Path) -> None:
    _assignment(tmp_path)
    proc = run_grader(["verify", "hw_var"], tmp_path, tmp_path / "c")
    assert proc.returncode == 0 and "verify: ok" in proc.stdout, proc.stdout + proc.stderr
    subs = _submissions(tmp_path)
    out = tmp_path / "out"
    proc = run_grader(["grade", "hw_var", str(subs), "--out", str(out), "--jobs", "2"],
                      tmp_path, tmp_path / "c")  # fmt: skip
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr

    def verdict(name: str) -> dict[str, Any]:
        report = json.loads((out / name / "report.json").read_text())
        return next(t for t in report["tests"] if t["stub"] == "price_by_flavor")

    assert verdict("right")["outcome"] == "passed"
    sums = verdict("sums")
    assert sums["outcome"] == "failed" and sums["score"] == 0
    assert "price_by_flavor['vanilla']: expected 2.5, got 5" in sums["output"]
    assert verdict("untouched")["outcome"] == "failed"
