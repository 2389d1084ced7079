"""The CLI as users run it: `grader check`, `grader verify`, usage errors and exit codes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from graders.errors import EXIT_MEANINGS
from tests.conftest import checks_of, make_home, run_grader

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "submissions"
UNSEEDED = "student.bce_loss(np.random.default_rng().uniform(0.1, 0.9, 4),"


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


def test_check_refuses_any_json_clearly(home: Path, cache: Path, tmp_path: Path) -> None:
    cases = {
        "list.ipynb": ("[1, 2, 3]", "this is (list.ipynb: not a valid notebook: the file is "
                       "JSON, but its top level is a list)"),
        "meta_list.ipynb": ('{"nbformat": 4, "metadata": [], "cells": []}', "this is;"),
        "grader_list.ipynb": ('{"nbformat": 4, "metadata": {"grader": [1]}, "cells": []}',
                              "this is;"),
    }  # fmt: skip
    for name, (text, fragment) in cases.items():
        (tmp_path / name).write_text(text)
        proc = run_grader(["check", str(tmp_path / name)], home, cache, timeout=60)
        assert proc.returncode == 2, (name, proc.stderr)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert f"cannot tell which assignment {fragment}" in proc.stderr, proc.stderr
        assert "--assignment NAME (fashion_lab, intro_ann, numpy_review)" in proc.stderr


def test_help_documents_exit_codes(home: Path, cache: Path) -> None:
    proc = run_grader(["--help"], home, cache, timeout=60)
    assert proc.returncode == 0 and "exit codes:" in proc.stdout and "harness" in proc.stdout
    # one table, three readers: the enum, --help and the docs agree
    readme = (ROOT / "docs" / "exit-codes.md").read_text()
    for code, meaning in EXIT_MEANINGS.items():
        assert f"  {int(code):<3} {meaning}" in proc.stdout, meaning
        assert f"| {int(code)} | {meaning} |" in readme, meaning


@pytest.mark.kernel
def test_check_exit_codes_and_output(home: Path, cache: Path, tmp_path: Path) -> None:
    ok = run_grader(["check", str(EXAMPLES / "erin_module.py"), "--assignment", "intro_ann",
                     "--out", str(tmp_path)], home, cache)  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "every check passed" in ok.stdout
    public, hidden = checks_of(home / "assignments" / "intro_ann").values()
    report = json.loads((tmp_path / "erin_module" / "report.json").read_text())
    assert [t["name"] for t in report["tests"]] == list(public)  # the public checks ran
    assert not [n for n in hidden if n in ok.stdout]
    assert (tmp_path / "erin_module" / "feedback.html").is_file()

    lost = run_grader(["check", str(EXAMPLES / "carol_typical_bugs.ipynb"), "--out", str(tmp_path)],
                      home, cache)  # fmt: skip
    assert lost.returncode == 1, lost.stdout + lost.stderr
    # exact on any CPU: an accuracy is a count over 8 samples (7/8, 5/8)
    assert "accuracy: expected 0.875, got 0.625" in lost.stdout
    assert "sandbox: bwrap" in lost.stdout

    # the files beside the notebook travel with it, as when the instructor grades its folder
    hw = tmp_path / "hw"
    hw.mkdir()
    nb = json.loads((EXAMPLES / "alice_correct.ipynb").read_text())
    nb["cells"].insert(
        1,
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "source": "DATA = open('dataset.csv').read()",
        },
    )
    (hw / "alice.ipynb").write_text(json.dumps(nb))
    (hw / "dataset.csv").write_text("x,y\n1,2\n")
    near = run_grader(["check", str(hw / "alice.ipynb"), "--out", str(hw / "grader-feedback")],
                      home, cache)  # fmt: skip
    assert near.returncode == 0, near.stdout + near.stderr
    cells = json.loads((hw / "grader-feedback" / "alice" / "report.json").read_text())["cells"]
    assert [c["status"] for c in cells if c["status"] not in ("ok", "skipped")] == [], cells

    # a notebook too broken to name its assignment: the student is told which exist
    unsure = run_grader(["check", str(EXAMPLES / "frank_broken.ipynb")], home, cache)
    names = "--assignment NAME (fashion_lab, intro_ann, numpy_review)"
    assert unsure.returncode == 2 and names in unsure.stderr
    broken = run_grader(["check", str(EXAMPLES / "frank_broken.ipynb"), "--assignment",
                         "intro_ann", "--out", str(tmp_path)], home, cache)  # fmt: skip
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


def _sandboxed_pids() -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and d.stat().st_uid == 65534:
                pids.append(int(d.name))
        except OSError:
            continue
    return pids


@pytest.mark.kernel
@pytest.mark.skipif(os.geteuid() != 0, reason="kernels run as uid 65534 only when graded as root")
def test_ctrl_c_keeps_finished_reports_and_leaves_no_process(
    home: Path, cache: Path, tmp_path: Path
) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(EXAMPLES / "erin_module.py", subs / "a_done.py")
    (subs / "b_loops.py").write_text("while True:\n    pass\n")
    out = tmp_path / "out"
    before = set(Path(tempfile.gettempdir()).glob("grader-*"))
    env = {**os.environ, "GRADER_HOME": str(home), "GRADER_CACHE_DIR": str(cache)}
    args = ["grade", "intro_ann", str(subs), "--out", str(out), "-j", "1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "graders", *args],
        env=env, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not (out / "a_done" / "report.json").exists() or not _sandboxed_pids():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert json.loads((out / "a_done" / "report.json").read_text())["score"] == 100
    assert not (out / "b_loops" / "report.json").exists()
    assert "a_done" in (out / "gradebook.csv").read_text()
    time.sleep(0.5)
    assert _sandboxed_pids() == []
    assert set(Path(tempfile.gettempdir()).glob("grader-*")) == before
    # resume: the finished submission is not graded again, the other one is, the gradebook
    # ends complete
    done_before = (out / "a_done" / "report.json").stat().st_mtime_ns
    again = subprocess.run([sys.executable, "-m", "graders", *args], env=env, cwd=home,
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "1 submission(s) already graded" in again.stderr
    assert (out / "a_done" / "report.json").stat().st_mtime_ns == done_before
    looped = json.loads((out / "b_loops" / "report.json").read_text())
    assert looped["status"] == "graded" and looped["cells"][0]["status"] == "timeout"
    rows = (out / "gradebook.csv").read_text().splitlines()
    assert len(rows) == 3 and sum("a_done" in r for r in rows) == 1


@pytest.mark.kernel
def test_verify_catches_nondeterminism_and_input_independent_hidden_checks(tmp_path: Path) -> None:
    bad = make_home(tmp_path / "bad")
    checks = bad / "assignments" / "intro_ann" / "checks.py"
    text = checks.read_text()
    # a public probe that draws unseeded random inputs: two runs disagree
    text = text.replace("student.bce_loss(np.array([0.9, 0.2, 0.7, 0.4]),", UNSEEDED)
    # a hidden probe that ignores its seed: a hard-coded answer would pass it
    text = text.replace(
        "X = rng.normal(size=(30, 2))", "X = np.arange(60.0).reshape(30, 2) % 7 - 3"
    )
    text = text.replace("float(rng.uniform(0.05, 0.5)), int(rng.integers(2, 6))", "0.1, 3")
    text = text.replace("rng.integers(0, 2, size=(12, 4))", "np.arange(48).reshape(12, 4) % 2")
    checks.write_text(text)
    proc = run_grader(["verify", "intro_ann"], bad, tmp_path / "cache")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "'bce_loss: four predictions" in proc.stdout and "not deterministic" in proc.stdout
    assert "hidden check 'perceptron_train: hidden separable data" in proc.stdout
    # three: the unseeded check also fails against its own first run
    assert proc.stdout.count("PROBLEM") == 3, proc.stdout


@pytest.mark.kernel
@pytest.mark.parametrize("kind", [[], ["--class"]], ids=["function", "class"])
def test_new_assignment_passes_verify(tmp_path: Path, kind: list[str]) -> None:
    made = run_grader(["new", "hw_demo", "--title", "A demo", *kind], tmp_path, tmp_path / "c")
    assert made.returncode == 0, made.stdout + made.stderr
    assert (tmp_path / "reference" / "hw_demo" / "solution.py").is_file()
    toml = (tmp_path / "assignments" / "hw_demo" / "assignment.toml").read_text()
    assert ('stubs = ["Scaler"]' if kind else 'stubs = ["mse"]') in toml
    verify = run_grader(["verify", "hw_demo"], tmp_path, tmp_path / "c")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "reference: 100/100" in verify.stdout and "template:  0/100" in verify.stdout
    again = run_grader(["new", "hw_demo"], tmp_path, tmp_path / "c")
    assert again.returncode == 2 and "already exists" in again.stderr


@pytest.mark.kernel
def test_verify_fails_on_a_template_cell_that_is_broken(tmp_path: Path) -> None:
    """An old notebook ported as it was (``np.int`` is gone in numpy 2) or one importing a
    package the kernels lack: verify names each broken cell (a stub's NotImplementedError is
    not a problem), and a heavy import the kernels' Python cannot find, once."""
    made = run_grader(["new", "hw_port"], tmp_path, tmp_path / "c")
    assert made.returncode == 0, made.stderr
    path = tmp_path / "assignments" / "hw_port" / "template.ipynb"
    nb = nbformat.read(path, as_version=4)
    ours = [c.source for c in nb.cells if "self-check" in c.metadata.get("tags", [])]
    assert ours[1:] == ['check("mse")', "check()"]  # grader new: the self-check's cells
    first = next(i for i, c in enumerate(nb.cells) if c.source.startswith("import numpy"))
    nb.cells[first + 1 : first + 1] = [
        nbformat.v4.new_code_cell("n = np.int(3)"),
        nbformat.v4.new_code_cell("m = n + 1  # a follow-on of the cell above"),
        nbformat.v4.new_code_cell("import not_a_course_package_xyz"),
    ]
    nb.cells.append(nbformat.v4.new_code_cell("demo = mse(np.zeros(2), np.ones(2))"))
    nb.cells.append(nbformat.v4.new_code_cell("print(demo)  # needs the stub: expected"))
    nbformat.write(nb, path)
    checks = tmp_path / "assignments" / "hw_port" / "checks.py"  # #35.3: a data file is gone
    opens = "    open('data/points.csv').close()\n"
    before = "    return student.mse(np.array([3.0"
    checks.write_text(checks.read_text().replace(before, opens + before, 1))
    toml = tmp_path / "assignments" / "hw_port" / "assignment.toml"
    toml.write_text(toml.read_text().replace('["numpy"]', '["numpy", "not_a_heavy_pkg_xyz"]'))
    proc = run_grader(["verify", "hw_port"], tmp_path, tmp_path / "c")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    problems = [line for line in proc.stdout.splitlines() if "PROBLEM" in line]
    # #35.2: the follow-ons (a NameError for what a failed cell would have defined, a stub's
    # demo) are not problems; cells are named by their first line
    assert len(problems) == 4, proc.stdout
    assert "the reference could not open 'data/points.csv'" in problems[0]
    assert "assignments/hw_port/data/" in problems[0]
    assert "heavy_imports lists 'not_a_heavy_pkg_xyz'" in problems[3]
    assert (
        "template cell 3 (`n = np.int(3)`) fails (AttributeError: module 'numpy' has no "
        "attribute 'int'" in problems[1]
    )
    assert (
        "template cell 5 (`import not_a_course_package_xyz`) fails (ModuleNotFound" in (problems[2])
    )
    assert "has no not_a_course_package_xyz" in problems[2]


@pytest.mark.kernel
def test_verify_catches_useless_and_twin_mistakes(tmp_path: Path) -> None:
    made = run_grader(["new", "hw_mist"], tmp_path, tmp_path / "c")
    assert made.returncode == 0, made.stderr
    (tmp_path / "assignments" / "hw_mist" / "mistakes.py").write_text(
        """import numpy as np

from graders import mistake

KW = dict(stub="mse", title="t", explain="e", hint="h")


@mistake(**KW)
def same_as_reference(y, yhat):
    return float(np.mean((np.asarray(y) - np.asarray(yhat)) ** 2))


@mistake(**KW)
def summed(y, yhat):
    return float(np.sum((np.asarray(y) - np.asarray(yhat)) ** 2))


@mistake(**KW)
def summed_too(y, yhat):
    return float(((np.asarray(y) - np.asarray(yhat)) ** 2).sum())


@mistake(**KW)
def absolute(y, yhat):
    return float(np.mean(np.abs(np.asarray(y) - np.asarray(yhat))))
"""
    )
    verify = run_grader(["verify", "hw_mist"], tmp_path, tmp_path / "c")
    assert verify.returncode == 2, verify.stdout + verify.stderr
    problems = [line for line in verify.stdout.splitlines() if "PROBLEM" in line]
    assert len(problems) == 2, problems  # absolute is a good one
    assert "'same_as_reference' fails none of its checks" in problems[0]
    assert "'summed' and 'summed_too' give the same results" in problems[1]


@pytest.mark.kernel
def test_verify_flags_a_check_that_a_trivial_stub_passes(tmp_path: Path) -> None:
    """#35.4: a public check whose inputs give 0 for any correct `mse` (both arrays equal)
    passes a `mse` that returns 0 without computing anything; mutation analysis cannot see
    it (a mutant of a working `mse` still fails the other checks). verify flags it."""
    made = run_grader(["new", "hw_weak"], tmp_path, tmp_path / "c")
    assert made.returncode == 0, made.stderr
    checks = tmp_path / "assignments" / "hw_weak" / "checks.py"
    text = checks.read_text()
    planted = text.replace("np.array([2.5, 0.0, 2.0, 8.0])", "np.array([3.0, -0.5, 2.0, 7.0])", 1)
    assert planted != text
    checks.write_text(planted)
    proc = run_grader(["verify", "hw_weak"], tmp_path, tmp_path / "c")
    problems = [line for line in proc.stdout.splitlines() if "PROBLEM" in line]
    assert proc.returncode == 2 and len(problems) == 1, proc.stdout + proc.stderr
    assert (
        'check "mse: the notebook\'s example" passes a mse that returns a constant (0)'
        in (problems[0])
    )
    checks.write_text(text)  # the check as `grader new` wrote it: nothing to flag
    proc = run_grader(["verify", "hw_weak"], tmp_path, tmp_path / "c")
    assert proc.returncode == 0 and "verify: ok" in proc.stdout, proc.stdout + proc.stderr
