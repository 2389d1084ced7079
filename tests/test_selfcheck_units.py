"""The in-notebook check's own machinery, in this process (no kernel): selecting checks, the
time limit, Ctrl-C, what it leaves in the student's namespace and random state. Its agreement
with grading, in real kernels, is tests/test_selfcheck.py."""

from __future__ import annotations

import _thread
import json
import random
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graders.student.bundle_data import (
    CHECKS_FILE,
    EXPECTED_FILE,
    META_FILE,
    MISTAKES_FILE,
    SIGNATURES_FILE,
)
from graders.student.selfcheck import STOPPED, CheckRun, Notice, SelfCheck, from_folder
from graders.verdict.codec import encode
from graders.verdict.model import Outcome, Status

PROBES = {
    "double": "def p(student, ctx):\n    return student.double(21)\n",
    "noisy": (
        "def p(student, ctx):\n    ctx.manual_seed()\n    import numpy as np\n"
        "    return student.noisy(np.random.rand())\n"
    ),
}


def _check(name: str, stub: str, *, timeout: float | None = None, depends: tuple[str, ...] = ()
           ) -> dict[str, Any]:  # fmt: skip
    return {
        "name": f"{stub}: {name}", "stub": stub, "description": name, "func_name": "p",
        "source": PROBES[stub], "points": 2.0, "label": stub, "cases": False,
        "timeout": timeout, "plot": None, "plot_key": None, "seed": 7, "depends": list(depends),
        "compare": {"type": "exact"},
    }  # fmt: skip


@pytest.fixture
def check(tmp_path: Path) -> SelfCheck:
    checks = [
        _check("the answer", "double", timeout=0.5),
        _check("seeded", "noisy", depends=("double: the answer",)),
    ]
    np.random.seed(7)
    expected = {"double: the answer": encode(42), "noisy: seeded": encode(np.random.rand() + 1)}
    files = {
        CHECKS_FILE: checks, EXPECTED_FILE: expected, SIGNATURES_FILE: {"double": "double(x)"},
        MISTAKES_FILE: [{
            "id": "triples", "stub": "double", "title": "tripled", "explain": "You tripled",
            "hint": "multiply by 2", "results": {"double: the answer": encode(63)},
        }],
        META_FILE: {"name": "toy", "title": "Toy", "version": "1", "stubs": ["double", "noisy"],
                    "allow_cuda": False, "check_timeout": 5,
                    "manual": [{"name": "q9", "title": "Explain doubling", "points": 3.0}]},
    }  # fmt: skip
    for name, data in files.items():
        (tmp_path / name).write_text(json.dumps(data))
    return from_folder(tmp_path)


def _outcomes(run: Any) -> dict[str, tuple[str, float]]:
    return {t.name: (t.outcome.value, t.score) for t in run.report.tests}


def test_a_stub_its_prerequisites_and_everything(check: SelfCheck) -> None:
    ns: dict[str, Any] = {"double": lambda x: 2 * x, "noisy": lambda r: r + 1}
    assert [c.name for c in check.select(("noisy",))] == ["double: the answer", "noisy: seeded"]
    assert [c.name for c in check.select(("double: the answer",))] == ["double: the answer"]
    with pytest.raises(ValueError, match=r"no check or stub named 'dubble'.*double, noisy"):
        check.select(("dubble",))
    run = check.run(ns)
    assert _outcomes(run) == {"double: the answer": ("passed", 2), "noisy: seeded": ("passed", 2)}
    # a question graded by hand is listed (#36), never scored
    assert run.report.manual == [{"name": "q9", "title": "Explain doubling", "points": 3.0}]
    assert run.report.max_score == 4
    assert run.all_passed and "4/4: every check passed." in repr(run)


def test_a_wrong_answer_names_the_mistake_and_skips_what_depends_on_it(check: SelfCheck) -> None:
    run = check.run({"double": lambda x: 3 * x, "noisy": lambda r: r + 1})
    first, second = run.report.tests
    assert (first.outcome, first.mistake and first.mistake["id"]) == (Outcome.FAILED, "triples")
    assert first.message.startswith("You tripled: multiply by 2. Details:")
    assert second.outcome is Outcome.SKIPPED and "needs “double: the answer”" in second.message
    text = repr(run)
    assert "FAIL double: the answer (0/2)" in text and "expected 42, yours 63" in text
    assert "tripled" in run._repr_html_() and "srcdoc=" in run._repr_html_()


def test_the_students_state_is_left_as_it_was(check: SelfCheck) -> None:
    """The probe seeds numpy's global generator; the student's stream goes on unchanged."""
    ns: dict[str, Any] = {"double": lambda x: 2 * x, "noisy": lambda r: r + 1, "mine": [1, 2]}
    random.seed(1)
    np.random.seed(1)
    want = (random.random(), np.random.rand())
    random.seed(1)
    np.random.seed(1)
    before = dict(ns)
    assert check.run(ns).all_passed
    assert (random.random(), np.random.rand()) == want
    assert ns == before


def test_a_check_past_its_limit_times_out_and_the_rest_still_run(check: SelfCheck) -> None:
    def forever(x: int) -> int:
        while True:
            pass

    run = check.run({"double": forever, "noisy": lambda r: r + 1})
    first, second = run.report.tests
    assert first.outcome is Outcome.TIMEOUT and "ran past 0.5 s" in first.message
    assert second.outcome is Outcome.SKIPPED and not run.stopped


def test_an_exception_is_the_checks_verdict(check: SelfCheck) -> None:
    def boom(x: int) -> int:
        raise ZeroDivisionError("no")

    first = check.run({"double": boom, "noisy": lambda r: r + 1}).report.tests[0]
    assert (
        first.outcome is Outcome.ERROR
        and first.error
        and first.error["type"] == "ZeroDivisionError"
    )


def _interrupted_soon(x: int) -> int:
    threading.Timer(0.05, _thread.interrupt_main).start()
    while True:
        pass


def test_ctrl_c_stops_the_remaining_checks(check: SelfCheck) -> None:
    """The interrupt button is SIGINT in the kernel: KeyboardInterrupt in the main thread,
    with the time limit not reached. #34.5: the stopped check says where the code was, the
    checks it stopped are not counted as lost, the run is not "graded"."""
    run = check.run({"double": _interrupted_soon, "noisy": lambda r: r + 1})
    assert run.stopped and not run.all_passed
    first, second = run.report.tests
    assert first.outcome is Outcome.SKIPPED
    assert first.message.startswith(f"{STOPPED}: you stopped it after"), first.message
    assert "in `_interrupted_soon` (test_selfcheck_units.py, line " in first.message
    assert "`while True:`" in first.message or "`pass`" in first.message
    assert second.message == f"Not run: {STOPPED}."
    assert run.report.output.startswith("Stopped during double")
    assert run.report.max_score == 0 and "To fix" not in run.report.output
    assert run.report.status is Status.UNGRADABLE
    text = run._repr_mimebundle_()
    assert "Stopped during double" in text["text/html"]
    assert "Stopped during double" in text["text/markdown"]


def test_checks_that_ran_before_a_stop_are_scored(check: SelfCheck) -> None:
    run = check.run({"double": lambda x: 2 * x, "noisy": _interrupted_soon})
    passed, stuck = run.report.tests
    assert passed.outcome is Outcome.PASSED and stuck.outcome is Outcome.SKIPPED
    assert run.report.score == run.report.max_score == passed.max_score > 0
    assert "1 of 2 checks ran" in run.report.output and "every check passed" in run.report.output


def test_check_reads_the_callers_globals(check: SelfCheck) -> None:
    global double, noisy
    double, noisy = (lambda x: 2 * x), (lambda r: r + 1)
    try:
        run = check("double")
        assert isinstance(run, CheckRun) and run.all_passed
        typo = check("dubble")  # shown in the cell, not raised: no traceback of ours
        assert isinstance(typo, Notice) and "this assignment has: double, noisy" in repr(typo)
        assert "dubble" in typo._repr_html_()
    finally:
        del double, noisy


def test_a_running_check_shows_which_check_runs(
    check: SelfCheck, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#34.5: in a kernel, a line under the cell names the check that runs (before: only
    ``[*]`` for up to a check's time limit); it is emptied when the checks are done."""
    import sys
    import types

    shown: list[str] = []

    class Handle:
        def update(self, data: dict[str, str], raw: bool = False) -> None:
            shown.append(data["text/plain"])

    def display(data: dict[str, str], raw: bool = False, display_id: bool = False) -> Handle:
        shown.append(data["text/plain"])
        return Handle()

    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace(kernel=object())  # type: ignore[attr-defined]
    display_mod = types.ModuleType("IPython.display")
    display_mod.display = display  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display_mod)
    check.run({"double": lambda x: 2 * x, "noisy": lambda r: r + 1})
    assert shown[0].startswith("Running check 1 of 2: double")
    assert shown[1].startswith("Running check 2 of 2: noisy") and shown[-1] == ""


def test_without_the_wheel_the_set_up_cell_says_what_to_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """#34.8: the check of a notebook whose wheel is missing says where to put which file."""
    from graders.student.cells import setup_source

    ns: dict[str, Any] = {}
    exec(setup_source("hw_nowhere"), ns)
    ns["check"]("mse")
    said = capsys.readouterr().out
    assert "The self-check is not set up" in said
    assert "hw_nowhere_check-*.whl" in said and "Upload" in said and "%pip install" in said
    assert "run this cell again" in said


def test_build_lists_what_to_hand_out(tmp_path: Path) -> None:
    """#34.8: the template, the wheel and the data files; not the bundle's own JSON."""
    from graders.student.bundle import handout

    for name in ("template.ipynb", "hw_check-1.0-py3-none-any.whl", "checks.json",
                 "assignment.toml", "data/points.csv"):  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert [Path(p).relative_to(tmp_path).as_posix() for p in handout(tmp_path)] == [
        "template.ipynb", "hw_check-1.0-py3-none-any.whl", "data/points.csv"
    ]  # fmt: skip
