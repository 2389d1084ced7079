"""The second assignment, numpy_review, written only through docs/writing-an-assignment.md:
verified, its examples graded in the real sandbox, its bundle checked from a laptop copy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, checks_of, run_grader
from tests.conftest import NumpyReviewRun as Run
from tests.test_browser import CHROMIUM, open_page

pytestmark = pytest.mark.kernel
EXAMPLES = ROOT / "examples" / "numpy_review"


@pytest.fixture
def run(numpy_review: Run) -> Run:
    return numpy_review


def test_each_case_scores_on_its_own(run: Run) -> None:
    t = run.tests("fay_partial")["to_tensor: integer arrays and lists become float32 tensors too"]
    assert t["score"] == t["max_score"] / 2 and t["outcome"] == "failed", t
    ints, lst = t["cases"]
    assert ints["passed"] and not lst["passed"] and lst["outcome"] == "error"
    assert "`to_tensor` raised TypeError" in lst["message"]
    assert run.reports["fay_partial"]["score"] == 98


def test_verify_passes(run: Run) -> None:
    assert run.verify_rc == 0, run.verify
    assert "reference: 100/100" in run.verify and "template:  0/100" in run.verify


def test_correct_and_untouched(run: Run) -> None:
    assert run.reports["ada_correct"]["score"] == 100
    dee = run.reports["dee_untouched"]
    assert dee["score"] == 0
    # "not implemented" everywhere, except fit_quadratic: it waits for quadratic_model
    outcomes = {t["stub"]: t["outcome"] for t in dee["tests"]}
    assert outcomes.pop("fit_quadratic") == "skipped"
    assert set(outcomes.values()) == {"missing"}


def test_typical_bugs_get_specific_messages(run: Run) -> None:
    ben = run.tests("ben_typical_bugs")
    got = {name.split(":")[0] for name, t in ben.items() if t["outcome"] != "passed"}
    assert got == {"standardize", "pairwise_sq_dists", "log_loss", "to_tensor", "to_numpy"}
    by_func = {t["name"]: t for t in ben.values()}
    assert "got NaN" in by_func["log_loss: probabilities of exactly 0 and 1 give a finite loss "
                               "(clip them to [eps, 1 - eps])"]["output"]  # fmt: skip
    tensor = by_func["to_tensor: a float64 array becomes a float32 torch tensor of the same values"]
    assert "expected 'torch.float32', got 'torch.float64'" in tensor["output"]
    grad = by_func["to_numpy: a tensor that requires grad (like the notebook's w) becomes an array"]
    assert grad["outcome"] == "error" and "detach" in grad["output"]
    assert ben["log_loss: the notebook's example"]["outcome"] == "passed"
    # torch.tensor(x) is right for the list (float32) and wrong for the integer array (int64):
    # each case of "integer arrays and lists" scores on its own
    ints = by_func["to_tensor: integer arrays and lists become float32 tensors too"]
    assert [c["passed"] for c in ints["cases"]] == [False, True] and ints["score"] == 2
    assert run.reports["ben_typical_bugs"]["score"] == 53


def test_failed_prerequisite_skips_dependent_checks(run: Run) -> None:
    cy = run.reports["cy_wrong_model"]
    fit = [t for t in cy["tests"] if t["stub"] == "fit_quadratic"]
    assert len(fit) == 2
    for t in fit:  # fit_quadratic itself is right, but it calls the broken model
        assert t["outcome"] == "skipped" and t["score"] == 0
        assert "quadratic_model: w * x**2 + b on a numpy array" in t["output"]
        assert "to pass first" in t["output"]
    assert {t["outcome"] for t in cy["tests"] if t["stub"] == "quadratic_model"} == {"failed"}
    assert cy["score"] == 75
    html = (run.home / "out" / "cy_wrong_model" / "feedback.html").read_text()
    assert "skipped" in html and "to pass first" in html


def test_bundle_keeps_public_dependencies(run: Run, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    proc = run_grader(["build", "numpy_review", "--out", str(dist)], run.home, run.cache)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checks = {
        c["func_name"]: c for c in json.loads((dist / "numpy_review/checks.json").read_text())
    }
    public, hidden = checks_of(run.home / "assignments" / "numpy_review").values()
    assert sorted(checks) == sorted(c.func_name for c in public.values()) and len(hidden) == 5
    assert len(checks["fit_playground"]["depends"]) == 2
    laptop = tmp_path / "laptop"
    shutil.copytree(dist / "numpy_review", laptop / "dist" / "numpy_review")
    nb = laptop / "hw.ipynb"
    shutil.copy(EXAMPLES / "cy_wrong_model.ipynb", nb)
    check = run_grader(["check", str(nb), "--out", str(tmp_path / "fb")], laptop, tmp_path / "c")
    assert check.returncode == 1, check.stdout + check.stderr
    assert "to pass first" in check.stdout and not [n for n in hidden if n in check.stdout]


def test_memory_error_is_explained_and_the_rest_still_runs(run: Run) -> None:
    eve = run.reports["eve_memory"]
    pairwise = [t for t in eve["tests"] if t["stub"] == "pairwise_sq_dists"]
    assert {t["outcome"] for t in pairwise} == {"error"}
    public = next(t for t in pairwise if not t["hidden"])
    assert "ran out of memory" in public["output"] and "MemoryError" in public["output"]
    assert eve["score"] == 86  # every other check passed, in the same kernel


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_skipped_checks_render_in_a_browser(run: Run, tmp_path: Path) -> None:
    dom, console, urls = open_page(run.home / "out" / "cy_wrong_model" / "feedback.html", tmp_path)
    assert console == [] and urls == []
    assert dom.count("to pass first") == 2 and "skipped" in dom
