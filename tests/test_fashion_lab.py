"""fashion_lab, the class-based assignment with a data file: the stubs are a method
(``FashionCSV.__getitem__``) and a class (``FashionNet``), known mistakes replace methods, and
``data/fashion_sample.csv`` reaches every kernel and the student bundle. Verified, its examples
graded once, and ``grader check`` run from the bundle alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, bundle_text, run_grader

pytestmark = pytest.mark.kernel
EXAMPLES = ROOT / "examples" / "fashion_lab"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("lab")
    for part in ("assignments", "reference"):
        shutil.copytree(ROOT / part / "fashion_lab", home / part / "fashion_lab")
    return home


@pytest.fixture(scope="module")
def graded(lab: Path) -> dict[str, dict[str, Any]]:
    out = lab / "out"
    proc = run_grader(["grade", "fashion_lab", str(EXAMPLES), "--out", str(out), "-j", "2"],
                      lab, lab / "cache")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/report.json")}


def test_verify_passes(lab: Path) -> None:
    proc = run_grader(["verify", "fashion_lab"], lab, lab / "cache")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reference: 100/100" in proc.stdout and "template:  0/100" in proc.stdout
    assert "known mistakes: 3" in proc.stdout


def test_examples_scores_and_named_mistakes(graded: dict[str, dict[str, Any]]) -> None:
    scores = {k: r["score"] for k, r in graded.items()}
    assert scores == {
        "ana_correct": 100, "ben_softmax_unscaled": 20, "cy_no_relu": 65, "dee_untouched": 0
    }  # fmt: skip
    named = {k: {m["id"] for m in r["misconceptions"]} for k, r in graded.items()}
    assert named["ben_softmax_unscaled"] == {"getitem_unscaled", "forward_softmax"}
    assert named["cy_no_relu"] == {"forward_without_relu"}
    assert named["ana_correct"] == named["dee_untouched"] == set()
    stubs = {t["stub"] for t in graded["ana_correct"]["tests"]}
    assert stubs == {"FashionCSV.__getitem__", "FashionNet"}
    untouched = {t["output"] for t in graded["dee_untouched"]["tests"] if t["outcome"] == "missing"}
    assert (
        "`FashionCSV.__getitem__` is not implemented yet: it still raises NotImplementedError."
        in (untouched)
    )


def test_bundle_ships_the_data_and_checks_alone(lab: Path, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    proc = run_grader(["build", "fashion_lab", "--out", str(dist)], lab, lab / "cache")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shipped = dist / "fashion_lab" / "data" / "fashion_sample.csv"
    assert (
        shipped.read_bytes()
        == (ROOT / "assignments/fashion_lab/data/fashion_sample.csv").read_bytes()
    )
    text = bundle_text(dist / "fashion_lab")  # the self-check wheel's members too
    assert "class FashionCSV" in text  # the template's stubs are there: the scan reads it
    assert "def forward_softmax" not in text and "torch.softmax(self.layers" not in text
    holdout = (ROOT / "assignments/fashion_lab/hidden_data/holdout.csv").read_text()
    row = holdout.splitlines()[1]  # the hidden check's data stays with the instructor
    assert row not in text and not (dist / "fashion_lab" / "hidden_data").exists()
    laptop = tmp_path / "laptop"  # no assignments/, no reference/: the bundle and a notebook
    shutil.copytree(dist / "fashion_lab", laptop / "dist" / "fashion_lab")
    for name, rc in (("ana_correct", 0), ("ben_softmax_unscaled", 1)):
        nb = laptop / f"{name}.ipynb"
        shutil.copy(EXAMPLES / f"{name}.ipynb", nb)
        check = run_grader(
            ["check", str(nb), "--out", str(tmp_path / "fb")], laptop, tmp_path / "c"
        )
        assert check.returncode == rc, check.stdout + check.stderr
    assert "Your images match the raw pixels, 0 to 255" in check.stdout
