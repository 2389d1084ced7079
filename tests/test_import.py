"""`grader import otter|nbgrader` (#36): the incumbents' rules as their code has them (unit
tests), and an imported assignment of each kind verified and graded in real kernels, each
question's score compared with the one the incumbent's rule gives (tests/import_fixtures.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import jsonschema
import nbformat
import pytest

from graders.authoring.importing import Case, checks_source, resolve_points
from graders.authoring.nbgrader import stub_source
from graders.authoring.otter import convert, student_lines
from graders.errors import UsageError
from tests import import_fixtures as fx
from tests.conftest import run_grader


def test_otter_student_version_follows_otter_assign() -> None:
    """otter/assign/solutions.py: `x = 1 # SOLUTION` -> `x = ...`, another `# SOLUTION` line
    -> `...`, a BEGIN SOLUTION block -> `...` (nothing with NO PROMPT), PROMPT lines kept."""
    src = (
        "def f(x):\n    y = x + 1 # SOLUTION\n    return y # SOLUTION\n"
        "# BEGIN SOLUTION NO PROMPT\nz = 3\n# END SOLUTION\n"
        '""" # BEGIN PROMPT\nz = ...\n""" # END PROMPT\n'
        "    # BEGIN SOLUTION\n    w = 2\n    # END SOLUTION"
    )
    assert student_lines(src).splitlines() == [
        "def f(x):",
        "    y = ...",
        "    ...",
        "z = ...",
        "    ...",
    ]
    with pytest.raises(UsageError, match="without END SOLUTION"):
        student_lines("# BEGIN SOLUTION\nx = 1")


def test_points_are_resolved_as_otter_resolves_them() -> None:
    """otter/test_files/abstract_test.py, TestFile.resolve_test_file_points."""
    assert resolve_points(None, [None, None, None], "q") == pytest.approx([1 / 3] * 3)
    assert resolve_points(2, [None, 1, None], "q") == [0.5, 1.0, 0.5]
    assert resolve_points(None, [2, None], "q") == [2.0, 0.0]
    assert resolve_points([1, 2], [None, None], "q") == [1.0, 2.0]
    with pytest.raises(UsageError):
        resolve_points(1, [2, None], "q")
    for bad in ("abc", True, -1, [1, "x"]):  # a clear error, not a TypeError of ours
        with pytest.raises(UsageError, match="q: points must be a number"):
            resolve_points(bad, [None, None] if isinstance(bad, list) else [None], "q")


def test_a_file_that_is_no_python_notebook_is_refused_clearly(tmp_path: Path) -> None:
    """No traceback of ours: JSON without cells, a broken encoding, an R notebook."""
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "b.ipynb").write_bytes(b"\xff\xfe\x00junk")
    r_nb = fx.otter_master()
    r_nb.metadata["kernelspec"] = {"name": "ir", "language": "R", "display_name": "R"}
    nbformat.write(r_nb, tmp_path / "c.ipynb")
    for name, why in [("a", "not a notebook nbformat can read"), ("b", "b.ipynb: "),
                      ("c", "written for a R kernel")]:  # fmt: skip
        with pytest.raises(UsageError, match=why):
            convert(tmp_path / f"{name}.ipynb", "imp")


def test_nbgrader_release_stubs() -> None:
    """nbgrader/preprocessors/clearsolutions.py: the region becomes the code stub at its
    indentation; a solution cell without a region becomes the stub whole."""
    src = "def f(x):\n    '''doc'''\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"
    assert stub_source(src) == (
        "def f(x):\n    '''doc'''\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    )
    assert stub_source("x = 3") == "# YOUR CODE HERE\nraise NotImplementedError()"


def test_otter_conversion(tmp_path: Path) -> None:
    """Questions, hidden cases, points, the manual question; value cases compared outside,
    asserts named as judged in the kernel; the template without solutions or otter's client."""
    nbformat.write(fx.otter_master(), tmp_path / "m.ipynb")
    conv = convert(tmp_path / "m.ipynb", "imp")
    q1, q2, q3 = conv.questions
    assert [c.points for c in q1.cases] == [0.5, 1.0, 0.5]
    assert [c.hidden for c in q1.cases] == [False, False, True]
    assert [c.kind for c in q2.cases] == ["probe", "probe", "value"]
    assert q3.manual and q3.points == 3 and not q3.cases
    checks = checks_source(conv)
    assert "hidden tests" not in checks and "hidden test 3" in checks
    q1_checks = checks.split("@check(stub='q1'", 1)[1].split("@check(stub='q2'")[0]
    assert "verdict is computed in the student's kernel" not in q1_checks
    assert "tests 1, 2 (asserts: their verdict is computed in the student's kernel)" in checks
    code = "\n".join(c.source for c in conv.template.cells if c.cell_type == "code")
    assert "np.exp" not in code and "import otter" not in code and "0.8807" not in code
    assert 'check("q1")' in code and "accuracy = ..." in code
    assert "It maps any real number" not in json.dumps(conv.template)
    assert "np.exp(-z)" in conv.reference and "import otter" not in conv.reference
    odd = fx.otter_master()
    odd.cells[3].source = "# BEGIN QUESTION\nname: 1.1\npoints: 2"
    odd.cells[14].source = "# BEGIN QUESTION\nname: q_1_1"  # the same once made a stub
    nbformat.write(odd, tmp_path / "odd.ipynb")
    names = [q.name for q in convert(tmp_path / "odd.ipynb", "imp").questions]
    assert names == ["q_1_1", "q_1_1_", "q3"]
    assert "q_1_1_" in checks_source(convert(tmp_path / "odd.ipynb", "imp"))
    odd.cells[3].source = "# BEGIN QUESTION\npoints: 2"
    nbformat.write(odd, tmp_path / "odd.ipynb")
    with pytest.raises(UsageError, match="without a name"):
        convert(tmp_path / "odd.ipynb", "imp")


def _question_scores(report: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for t in report["tests"]:
        out[t["stub"]] = out.get(t["stub"], 0.0) + t["score"]
    return out


def _import_verify_grade(home: Path, fmt: str, source: Path, name: str, subs: Path) -> Path:
    cache = home / "cache"
    made = run_grader(["import", fmt, str(source), "--name", name], home, cache)
    assert made.returncode == 0, made.stdout + made.stderr
    verify = run_grader(["verify", name], home, cache)
    assert verify.returncode == 0 and "verify: ok" in verify.stdout, verify.stdout + verify.stderr
    out = home / "out"
    graded = run_grader(["grade", name, str(subs), "--out", str(out), "--jobs", "2"], home, cache)
    assert graded.returncode in (0, 3), graded.stdout + graded.stderr
    return out


@pytest.mark.kernel
def test_otter_import_grades_as_otter_scores(tmp_path: Path) -> None:
    nbformat.write(fx.otter_master(), tmp_path / "logistic.ipynb")
    subs = tmp_path / "subs"
    subs.mkdir()
    for name, (sig, acc, _) in fx.OTTER_SUBMISSIONS.items():
        nbformat.write(fx.otter_submission(sig, acc), subs / f"{name}.ipynb")
    out = _import_verify_grade(tmp_path, "otter", tmp_path / "logistic.ipynb", "imp_otter", subs)
    cache = tmp_path / "cache"
    for name, (_, _, want) in fx.OTTER_SUBMISSIONS.items():
        report = json.loads((out / name / "report.json").read_text())
        assert _question_scores(report) == pytest.approx(want, abs=1e-3), name
        assert report["manual"] == [
            {
                "name": "q3",
                "points": 3.0,
                "title": "Question 3. Why does the sigmoid suit probabilities?",
            }
        ]
    schema = json.loads(
        (Path(__file__).parent.parent / "graders/schema/report.schema.json").read_text()
    )
    jsonschema.validate(json.loads((out / "right" / "report.json").read_text()), schema)
    page = (out / "wrong_share" / "feedback.html").read_text()
    assert "Graded by hand" in page and "0.75" not in page  # the hidden value stays hidden
    rows = list(csv.reader((out / "gradebook.csv").read_text().splitlines()))
    assert rows[0][-1] == "q3 (by hand, 3)" and all(r[-1] == "" for r in rows[1:])
    report = (tmp_path / "assignments" / "imp_otter" / "import-report.md").read_text()
    assert "| q3 | 3 | graded by hand" in report
    # students see the question graded by hand too: in the bundle, and in grader check
    built = run_grader(["build", "imp_otter", "--out", str(tmp_path / "dist")], tmp_path, cache)
    assert built.returncode == 0, built.stdout + built.stderr
    bundle = tmp_path / "dist" / "imp_otter"
    assert json.loads((bundle / "assignment.json").read_text())["manual"][0]["name"] == "q3"
    checked = run_grader(["check", str(subs / "right.ipynb"), "--assignment", str(bundle),
                          "--out", str(tmp_path / "fb")], tmp_path, cache)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    mine = json.loads((tmp_path / "fb" / "right" / "report.json").read_text())
    assert [m["name"] for m in mine["manual"]] == ["q3"]
    assert "Graded by hand" in (tmp_path / "fb" / "right" / "feedback.html").read_text()


@pytest.mark.kernel
def test_nbgrader_import_grades_as_nbgrader_scores(tmp_path: Path) -> None:
    src = tmp_path / "source" / "ps_relu"
    src.mkdir(parents=True)
    nbformat.write(fx.nbgrader_source(), src / "relu.ipynb")
    home = tmp_path
    made = run_grader(["import", "nbgrader", str(src), "--name", "imp_nbg"], home, home / "cache")
    assert made.returncode == 0, made.stderr
    template = home / "assignments" / "imp_nbg" / "template.ipynb"
    assert "### BEGIN HIDDEN" not in template.read_text() and "[-0.5" not in template.read_text()
    fx.write_nbgrader_submissions(template, tmp_path / "subs")
    verify = run_grader(["verify", "imp_nbg"], home, home / "cache")
    assert verify.returncode == 0 and "verify: ok" in verify.stdout, verify.stdout + verify.stderr
    out = home / "out"
    graded = run_grader(
        ["grade", "imp_nbg", str(tmp_path / "subs"), "--out", str(out)], home, home / "cache"
    )
    assert graded.returncode in (0, 3), graded.stdout + graded.stderr
    for name, (_, _, _, want) in fx.NBGRADER_SUBMISSIONS.items():
        report = json.loads((out / name / "report.json").read_text())
        assert _question_scores(report) == pytest.approx(want), name
        assert [m["name"] for m in report["manual"]] == ["why", "plot_task"]
    hidden = json.loads((out / "hidden_fail" / "report.json").read_text())["tests"][0]
    assert hidden["hidden"] and "[-0.5" not in json.dumps(hidden)


def test_case_kinds() -> None:
    assert Case("x == 1", False, 1).kind == "value"
    assert Case("assert x == 1", False, 1).kind == "probe"
    assert Case("x == 1", False, 1, probe=True).kind == "probe"
    assert Case("def (", False, 1).kind == "probe"
