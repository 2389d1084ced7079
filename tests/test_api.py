"""The public surface: what ``import graders`` offers, pinned; and grading from Python."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

import graders
from graders.errors import AssignmentError
from graders.spec.assignment import find_assignment
from graders.verdict.checks import Plot, _Pending, check, lint_free_names, load_checks
from tests.conftest import ROOT

PUBLIC = [
    "AssignmentError", "CheckResult", "Event", "EventKind", "ExitCode", "GraderError",
    "HarnessError", "Outcome", "Plot", "Report", "SandboxError", "Status", "UsageError",
    "__version__", "allclose", "check", "exact", "grade", "helper", "mistake", "within",
]  # fmt: skip


def test_the_export_list_is_pinned_and_documented() -> None:
    """Adding or removing a public name is a decision: change this list and the CHANGELOG."""
    assert graders.__all__ == PUBLIC
    for name in PUBLIC[:13] + PUBLIC[14:]:
        obj = getattr(graders, name)
        doc = obj.__doc__ or ""
        generic = (str.__doc__, Exception.__doc__, graders.GraderError.__doc__)
        assert doc.strip() and (obj is graders.GraderError or doc not in generic), name
        assert not doc.startswith(f"{name}("), name  # not the dataclass's generated one
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## {graders.__version__}" in changelog


def _checks_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "checks.py"
    path.write_text("from graders import Plot, check, helper\n\n" + body)
    return path


def test_a_check_names_its_stub_and_stays_callable(tmp_path: Path) -> None:
    path = _checks_file(
        tmp_path,
        '@check(stub="double", points=2, hint="Multiply, do not add.",\n'
        '       plot=Plot("line", caption="Yours and ours."))\n'
        "def double_two(student, ctx):\n"
        '    """of two"""\n'
        "    return student.double(2)\n\n\n"
        "@check(points=1)\n"
        "def legacy(student, ctx):\n"
        '    """double:of three"""\n'
        "    return student.double(3)\n",
    )
    suite = load_checks(path, ("double",))
    first, second = suite.checks
    assert (first.name, first.stub, first.title) == ("double: of two", "double", "of two")
    assert (first.hint, first.plot, first.plot_caption) == (
        "Multiply, do not add.",
        "line",
        "Yours and ours.",
    )
    assert second.name == "double: of three"  # the older docstring form, one spelling of names

    class Student:
        @staticmethod
        def double(x: int) -> int:
            return 2 * x

    module = {}  # the declared check, called as a function
    exec(compile(path.read_text(), str(path), "exec"), module)
    declared = module["double_two"]
    assert isinstance(declared, _Pending) and declared(Student(), None) == 4


def test_free_names_of_helpers_and_nested_scopes() -> None:
    lint_free_names(
        "def h(x):\n    return abs(x)\n\ndef probe(student, ctx):\n    import numpy as np\n"
        "    f = lambda y, a=2: np.sqrt(y) * a\n    return [h(f(i)) for i in range(3)]\n",
        "ok",
    )
    with pytest.raises(AssignmentError, match="uses torch"):
        lint_free_names(
            "def h(x):\n    return torch.tensor(x)\n\ndef probe(s, c):\n    return h(1)\n", "h"
        )


def test_the_course_assignments_load_with_the_lint() -> None:
    for name in ("intro_ann", "numpy_review"):
        suite = find_assignment(name, ROOT).load_checks()
        assert all(c.name == f"{c.stub}: {c.title}" for c in suite.checks)


def test_plot_kinds_are_checked() -> None:
    with pytest.raises(AssignmentError, match="plot must be"):
        check(points=1, plot=Plot("scatter"))


@pytest.mark.kernel
def test_grade_from_python(
    tmp_path: Path, home: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``graders.grade`` runs the same pipeline as the command: reports, and files in out."""
    monkeypatch.setenv("GRADER_HOME", str(home))
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("erin_module.py", "carol_typical_bugs.ipynb"):
        (subs / name).write_bytes((ROOT / "examples" / "submissions" / name).read_bytes())
    (subs / "essay.docx").write_bytes(b"PK\x03\x04 not a notebook")
    out = tmp_path / "out"
    reports = graders.grade("intro_ann", [subs], out=out, jobs=2, cache_dir=cache)
    got = {r.submission.id: (r.status, r.score) for r in reports}
    assert got == {
        "erin_module": (graders.Status.GRADED, 100),
        "carol_typical_bugs": (graders.Status.GRADED, 63),
        "essay": (graders.Status.UNGRADABLE, 0),
    }, got
    on_disk = json.loads((out / "carol_typical_bugs" / "report.json").read_text())
    assert on_disk["score"] == 63 and (out / "gradebook.csv").is_file()
    (tmp_path / "empty").mkdir()
    with pytest.raises(graders.UsageError, match="no submissions"):
        graders.grade("intro_ann", [tmp_path / "empty"], cache_dir=cache)
    assert inspect.signature(graders.grade).parameters["out"].default is None


def test_a_hint_is_shown_under_a_failure_only() -> None:
    from graders.verdict.checks import Check, Visibility
    from graders.verdict.compare import AllClose
    from graders.verdict.results import ProbeKind, ProbeResult
    from graders.verdict.score import evaluate

    chk = Check("double: of two", "double", "", "f", "", 2.0, Visibility.HIDDEN, AllClose(),
                "", False, None, feedback="message", hint="Multiply, do not add.")  # fmt: skip
    ref = ProbeResult(ProbeKind.VALUE, value=4.0)
    wrong = evaluate(chk, ref, ProbeResult(ProbeKind.VALUE, value=3.0))
    assert wrong.message.endswith(" Hint: Multiply, do not add."), wrong.message
    raised = evaluate(chk, ref, ProbeResult(ProbeKind.ERROR, error={"type": "E", "message": ""}))
    assert raised.message.endswith("Hint: Multiply, do not add.")
    right = evaluate(chk, ref, ProbeResult(ProbeKind.VALUE, value=4.0))
    assert right.message == "Correct." and right.score == 2.0
    skipped = evaluate(chk, ref, ProbeResult(ProbeKind.SKIPPED, note="it needs x"))
    assert "Hint" not in skipped.message
