"""Shared fixtures. Real kernels cost seconds each, so the scenario submissions are graded
once per session (one ``grader grade`` run, two at a time) and the tests assert on the reports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from graders.spec.assignment import load_assignment
from graders.verdict.checks import Check

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "examples"))

from build_template import STUBS, notebook, write  # noqa: E402
from make_examples import BOB, CAROL, CORRECT  # noqa: E402

from tests import scenarios  # noqa: E402

# Short limits so that the timeout scenarios cost seconds, not minutes.
TEST_LIMITS = """
[limits]
cell_timeout = 15
check_timeout = 5
submission_timeout = 150
memory_mb = 3072
max_processes = 256
work_mb = 64
"""


# A suite of real sandboxed kernels: one graded run per kernel provider (test_hostile.py,
# test_host_edges.py).
SANDBOXED = [
    pytest.mark.kernel,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
]


def provider_or_skip(request: pytest.FixtureRequest) -> str:
    """The kernel provider a parametrised fixture runs with; zygote skips where it cannot run."""
    from graders.kernel.zygote import zygote_unavailable
    from graders.sandbox.bwrap import get_sandbox

    kernels = str(request.param)
    if kernels == "zygote" and (why := zygote_unavailable(get_sandbox("bwrap"))):
        pytest.skip(f"no zygote here: {why}")
    return kernels


def make_home(dest: Path) -> Path:
    """A GRADER_HOME with a copy of intro_ann (short limits) and its reference."""
    shutil.copytree(ROOT / "assignments" / "intro_ann", dest / "assignments" / "intro_ann")
    shutil.copytree(ROOT / "reference" / "intro_ann", dest / "reference" / "intro_ann")
    toml = dest / "assignments" / "intro_ann" / "assignment.toml"
    text = toml.read_text()
    toml.write_text(text[: text.index("[limits]")] + TEST_LIMITS)
    # The other two feedback levels of hidden checks, set through the check API: a renamed
    # check fails here with a NameError instead of being edited silently.
    with (dest / "assignments" / "intro_ann" / "checks.py").open("a") as f:
        f.write(
            "\n\nimport dataclasses as _dc  # added by tests/conftest.py\n\n"
            'acc_hidden = _dc.replace(acc_hidden, feedback="none")\n'
            'pt_hidden = _dc.replace(pt_hidden, feedback="full")\n'
        )
    return dest


@pytest.fixture(autouse=True)
def _temp_files_in_tmp_path(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests that discover zips without a kernel leave their extracted folders in pytest's own
    temporary folders (which pytest prunes), not in /tmp (the command removes its own)."""
    if request.node.get_closest_marker("kernel") is None:
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path_factory.mktemp("tmp")))


def checks_of(assignment: Path) -> dict[bool, dict[str, Check]]:
    """An assignment's checks as the harness loads them, public (False) and hidden (True):
    tests find hidden checks by their declaration, never by words in their titles."""
    suite = load_assignment(assignment).load_checks()
    return {h: {c.name: c for c in suite.checks if c.hidden is h} for h in (False, True)}


def run_grader(
    args: list[str],
    home: Path,
    cache: Path,
    timeout: float = 900,
    env_extra: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRADER_HOME": str(home), "GRADER_CACHE_DIR": str(cache)}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "graders", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        timeout=timeout,
    )


@dataclass
class GradedRun:
    home: Path
    cache: Path
    out: Path
    proc: subprocess.CompletedProcess[str]
    reports: dict[str, dict[str, Any]]

    def test(self, sub: str, name: str) -> dict[str, Any]:
        for t in self.reports[sub]["tests"]:
            if t["name"] == name:
                return t  # type: ignore[no-any-return]
        raise KeyError(name)

    def by_stub(self, sub: str, stub: str) -> list[dict[str, Any]]:
        return [t for t in self.reports[sub]["tests"] if t["stub"] == stub]


def verdicts(report: dict[str, Any]) -> dict[str, Any]:
    """Everything about a report that must not depend on how its kernel started or on which
    CPU kernels computed it: statuses, scores, outcomes, cell statuses, named mistakes."""
    return {
        "status": report["status"],
        "score": report["score"],
        "tests": [(t["name"], t["outcome"], t["score"]) for t in report["tests"]],
        "cells": [
            (c["index"], c["status"], (c["error"] or {}).get("type")) for c in report["cells"]
        ],
        "mistakes": [t.get("mistake") for t in report["tests"]],
    }


def regrade(
    graded: GradedRun,
    out: Path,
    extra: list[str],
    env_extra: dict[str, str] | None = None,
    cache: Path | None = None,
) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, Any]]]:
    """The scenario run again into ``out`` with ``extra`` arguments (more inputs, options) and
    ``env_extra`` in its environment (``cache``: a cache of its own instead of the session's):
    its process and its reports."""
    args = json.loads((graded.home / "grade-args.json").read_text())
    at = args.index("--out")
    args[at : at + 2] = [*extra, "--out", str(out)]
    proc = run_grader(args, graded.home, cache or graded.cache, env_extra=env_extra)
    reports = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/report.json")}
    return proc, reports


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_home(tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="session")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def submissions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("submissions")
    write(d / "correct.ipynb", notebook(CORRECT))
    write(d / "template.ipynb", notebook(STUBS))
    write(d / "bob.ipynb", notebook(BOB))
    write(d / "carol.ipynb", notebook(CAROL))
    for name, stubs in scenarios.MIXED.items():
        write(d / f"{name}.ipynb", notebook(stubs))
    for name, nb in scenarios.notebooks(notebook).items():
        write(d / f"{name}.ipynb", nb)
    for name, (_, stub, code) in {
        **scenarios.KNOWN_MISTAKES,
        **scenarios.ONLY_ON_SILENT_CHECKS,
    }.items():
        write(d / f"{name}.ipynb", notebook({**CORRECT, stub: code}))
    for name, (stub, code) in scenarios.UNLISTED.items():
        write(d / f"{name}.ipynb", notebook({**CORRECT, stub: code}))
    for name, text in scenarios.MODULES.items():
        (d / name).write_text(text)
    # a folder per student: the notebook imports a module handed in beside it
    folder = d / "folder_student"
    folder.mkdir()
    write(folder / "hw.ipynb", notebook({**CORRECT, "gradient_descent": "from mylib import *"}))
    (folder / "mylib.py").write_text("import numpy as np\n\n\n" + CORRECT["gradient_descent"])
    (d / "broken.ipynb").write_text('{"cells": [')
    (d / "essay.docx").write_bytes(b"PK\x03\x04 not a notebook")
    (d / ".DS_Store").write_bytes(b"\0\0")
    return d


@pytest.fixture(scope="session")
def graded(home: Path, cache: Path, submissions: Path) -> Iterator[GradedRun]:
    out = home / "out"
    exports = home / "exports"
    exports.mkdir()
    with zipfile.ZipFile(exports / "canvas.zip", "w") as zf:  # as Canvas names them
        zf.write(submissions / "template.ipynb", "smithjane_1001_5001_intro_ann.ipynb")
        zf.write(submissions / "correct.ipynb", "smithjane_1001_5002_intro_ann-1.ipynb")
        zf.write(submissions / "bob.ipynb", "doejohn_late_1002_5003_intro_ann.ipynb")
    with zipfile.ZipFile(exports / "moodle.zip", "w") as zf:  # a folder per participant
        zf.write(submissions / "carol.ipynb", "Ada Lovelace_4242_assignsubmission_file_/hw.ipynb")
        zf.write(submissions / "module_correct.py", "Bo Li_4343_assignsubmission_file_/hw.py")
    with zipfile.ZipFile(exports / "gradescope.zip", "w") as zf:  # Export Submissions
        top = "assignment_77_export/"
        zf.writestr(top + "submission_metadata.yml", (
            "submission_9001:\n  :submitters:\n  - :name: Grace Hopper\n    :sid: '2001'\n"
            "  :created_at: 2026-11-20 10:00:00.000000000 -08:00\n"
        ))  # fmt: skip
        zf.write(submissions / "bob.ipynb", top + "submission_9001/intro_ann.ipynb")
    args = ["grade", "intro_ann", str(submissions), str(exports / "canvas.zip"),
            str(exports / "moodle.zip"), str(exports / "gradescope.zip"),
            "--out", str(out), "-j", "2", "--prestart", "on", "--similarity"]  # fmt: skip
    (home / "grade-args.json").write_text(json.dumps(args))  # for a rerun with other options
    proc = run_grader(args, home, cache)
    reports = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/report.json")}
    yield GradedRun(home, cache, out, proc, reports)


def bundle_text(folder: Path) -> str:
    """Everything a student bundle holds, as text: its files and each member of its
    self-check wheel (for scans for what must not be there)."""
    texts = []
    for p in sorted(folder.iterdir()):
        if p.suffix == ".whl":
            with zipfile.ZipFile(p) as zf:
                texts += [zf.read(n).decode() for n in zf.namelist()]
        elif p.is_file():
            texts.append(p.read_text())
    return "\n".join(texts)


@pytest.fixture(scope="session")
def student_bundle(home: Path, cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``grader build intro_ann``: the student bundle, with the self-check wheel."""
    out = tmp_path_factory.mktemp("dist")
    proc = run_grader(["build", "intro_ann", "--out", str(out)], home, cache)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out / "intro_ann"


@dataclass
class NumpyReviewRun:
    home: Path
    cache: Path
    verify: str
    verify_rc: int
    reports: dict[str, dict[str, Any]]

    def tests(self, sub: str) -> dict[str, dict[str, Any]]:
        return {t["name"]: t for t in self.reports[sub]["tests"]}


@pytest.fixture(scope="session")
def numpy_review(tmp_path_factory: pytest.TempPathFactory) -> NumpyReviewRun:
    """numpy_review verified, and its examples (plus two made here) graded once."""
    from build_numpy_review import CORRECT as NR_CORRECT  # type: ignore[import-not-found]
    from build_numpy_review import notebook as nr_notebook
    from build_numpy_review import write as nr_write

    home = tmp_path_factory.mktemp("nr_home")
    for part in ("assignments", "reference"):
        shutil.copytree(ROOT / part / "numpy_review", home / part / "numpy_review")
    cache = home / "cache"
    verify = run_grader(["verify", "numpy_review"], home, cache)
    subs = home / "subs"
    shutil.copytree(ROOT / "examples" / "numpy_review", subs)
    # eve's pairwise_sq_dists asks for terabytes: a MemoryError, explained; the rest still runs
    hog = (
        "def pairwise_sq_dists(A, B):\n    return np.zeros((len(A), 10**6, 10**6)).sum(axis=(1, 2))"
    )
    nr_write(subs / "eve_memory.ipynb", nr_notebook({**NR_CORRECT, "pairwise_sq_dists": hog}))
    # fay's to_tensor takes arrays only: the list case raises, the integer case still counts
    arrays_only = "def to_tensor(x):\n    return torch.from_numpy(x).float()"
    nr_write(subs / "fay_partial.ipynb", nr_notebook({**NR_CORRECT, "to_tensor": arrays_only}))
    out = home / "out"
    proc = run_grader(["grade", "numpy_review", str(subs), "--out", str(out), "-j", "2"],
                      home, cache)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    reports = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/report.json")}
    return NumpyReviewRun(home, cache, verify.stdout + verify.stderr, verify.returncode, reports)
