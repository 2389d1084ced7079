"""The CLI as users run it: `grader check`, `grader verify`, usage errors and exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import make_home, run_grader

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "submissions"


def test_usage_errors_exit_2_without_traceback(home: Path, cache: Path, tmp_path: Path) -> None:
    for args in (
        ["grade", "no_such_assignment", str(EXAMPLES), "--out", str(tmp_path)],
        ["grade", "intro_ann", str(tmp_path / "missing.ipynb"), "--out", str(tmp_path)],
        ["check", str(tmp_path / "missing.ipynb")],
        ["grade", "intro_ann", str(EXAMPLES), "--jobs", "0"],
    ):
        proc = run_grader(args, home, cache, timeout=60)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith("grader: error:"), proc.stderr
        assert "Traceback" not in proc.stderr


def test_help_documents_exit_codes(home: Path, cache: Path) -> None:
    proc = run_grader(["--help"], home, cache, timeout=60)
    assert proc.returncode == 0 and "exit codes:" in proc.stdout and "harness" in proc.stdout


@pytest.mark.kernel
def test_check_exit_codes_and_output(home: Path, cache: Path, tmp_path: Path) -> None:
    ok = run_grader(["check", str(EXAMPLES / "erin_module.py"), "--assignment", "intro_ann",
                     "--out", str(tmp_path)], home, cache)  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "every check passed" in ok.stdout and "hidden" not in ok.stdout
    assert (tmp_path / "erin_module" / "feedback.html").is_file()

    lost = run_grader(["check", str(EXAMPLES / "carol_typical_bugs.ipynb"), "--out", str(tmp_path)],
                      home, cache)  # fmt: skip
    assert lost.returncode == 1, lost.stdout + lost.stderr
    assert "accuracy: expected 0.75, got 0.5" in lost.stdout
    assert "sandbox: bwrap" in lost.stdout

    broken = run_grader(["check", str(EXAMPLES / "frank_broken.ipynb"), "--out", str(tmp_path)],
                        home, cache)  # fmt: skip
    assert broken.returncode == 3 and "not a valid notebook" in broken.stdout


@pytest.mark.kernel
def test_verify_passes_on_intro_ann(home: Path, cache: Path) -> None:
    proc = run_grader(["verify", "intro_ann"], home, cache)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reference: 100/100" in proc.stdout and "template:  0/100" in proc.stdout


@pytest.mark.kernel
def test_verify_catches_a_broken_reference(tmp_path: Path) -> None:
    # Expected values come from the reference, so verify can catch a reference that crashes
    # (not one that is consistently wrong: that needs an independent check).
    bad = make_home(tmp_path / "bad")
    sol = bad / "reference" / "intro_ann" / "solution.py"
    sol.write_text(sol.read_text().replace("return correct / total", "return correct / 0"))
    proc = run_grader(["verify", "intro_ann"], bad, tmp_path / "cache")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "PROBLEM: the reference fails 'evaluate: accuracy of a fixed model" in proc.stdout
    shutil.rmtree(bad)
