"""A few hundred mutated notebooks and zips graded in one `grader grade` run: every input gets
a report (graded, or ungradable with a reason), the run finishes, no harness traceback."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import nbformat
import pytest

from tests.conftest import ROOT, run_grader
from tests.fuzz_inputs import write_inputs

pytestmark = pytest.mark.kernel
SOLUTION = "def mse(y, yhat):\n    return float(np.mean((np.asarray(y) - np.asarray(yhat)) ** 2))\n"


def test_mutated_inputs_never_break_a_run(tmp_path: Path) -> None:
    home, cache, out, inputs = (tmp_path / d for d in ("home", "cache", "out", "inputs"))
    home.mkdir()
    made = run_grader(["new", "fuzzy", "--root", str(home)], home, cache, timeout=60)
    assert made.returncode == 0, made.stderr
    nb = nbformat.read(home / "assignments" / "fuzzy" / "template.ipynb", as_version=4)
    stub = next(c for c in nb.cells if "def mse" in c.source)
    stub.source = SOLUTION
    write_inputs(inputs, json.loads(nbformat.writes(nb)), n_notebooks=180, n_zips=60)

    proc = run_grader(
        ["grade", "fuzzy", str(inputs), "--out", str(out), "-j", "2"], home, cache, timeout=1500
    )
    assert proc.returncode in (0, 3), proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-3000:]

    schema = json.loads((ROOT / "graders" / "schema" / "report.schema.json").read_text())
    reports = [json.loads(p.read_text()) for p in out.glob("*/report.json")]
    for r in reports:
        jsonschema.validate(r, schema)
        assert r["status"] in ("graded", "ungradable"), (r["submission"], r["reason"])
        if r["status"] == "ungradable":  # a reason in words, not an exception's repr
            assert len(r["reason"]) > 20 and "Traceback" not in r["reason"], r["reason"]
    paths = [r["submission"]["path"] for r in reports]
    for item in sorted(inputs.iterdir()):  # every input has its report
        mine = [p for p in paths if p == str(item) or p.startswith(f"{item.name}:")]
        assert mine, f"no report for {item.name}"
    graded = [r for r in reports if r["status"] == "graded"]
    assert graded and any(r["score"] == 100 for r in graded)  # the mutations did not all break
