"""The student bundle holds nothing secret, and `grader check` works from it alone."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graders.verdict.codec import decode
from tests.conftest import ROOT, bundle_text, checks_of, run_grader

pytestmark = pytest.mark.kernel
EXAMPLES = ROOT / "examples" / "submissions"


@pytest.fixture(scope="module")
def bundle(student_bundle: Path) -> Path:
    return student_bundle


def test_bundle_contains_nothing_secret(bundle: Path, home: Path, cache: Path) -> None:
    wheel = "intro_ann_check-1.0.0-py3-none-any.whl"
    assert sorted(p.name for p in bundle.iterdir()) == [
        "assignment.json", "assignment.toml", "checks.json", "expected.json", wheel,
        "mistakes.json", "signatures.json", "template.ipynb",
    ]  # fmt: skip
    text = bundle_text(bundle)  # the self-check wheel's members too
    solution = (home / "reference" / "intro_ann" / "solution.py").read_text()
    for line in solution.splitlines():  # the reference's code
        line = line.strip()
        if len(line) > 25 and not line.startswith(("def ", "import", "from", '"""')):
            assert line not in text, line
    mistakes = (home / "assignments" / "intro_ann" / "mistakes.py").read_text()
    for line in mistakes.splitlines():  # the known mistakes' code: their words only
        line = line.strip()
        if len(line) > 25 and line.startswith(("xs", "return", "w =", "loss", "p =")):
            assert line not in text, line
    public, hidden = checks_of(home / "assignments" / "intro_ann").values()
    assert len(public) == 9 and len(hidden) == 8
    known = json.loads((bundle / "mistakes.json").read_text())
    assert known and all(n in public for m in known for n in m["results"])
    seed = re.search(
        r"secret_seed = (\d+)", (home / "assignments/intro_ann/assignment.toml").read_text()
    )
    assert seed and seed.group(1) not in text
    checks = json.loads((bundle / "checks.json").read_text())
    assert [c["name"] for c in checks] == list(public)
    for c in hidden.values():  # their probes' code
        assert f"def {c.func_name}(" not in text
    assert "random_state=ctx.seed" not in text
    # the hidden checks' expected values (from the reference cache) appear nowhere
    [ref] = list((cache / "reference").glob("intro_ann-*.json"))
    results = {n: r for n, r in json.loads(ref.read_text()).items() if n in hidden}
    assert len(results) == len(hidden)
    for name, r in results.items():
        for blob in re.findall(r'"data": "([A-Za-z0-9+/=]{16,})"', r["value"]):
            assert blob not in text, name
        value = decode(r["value"])
        for x in json.dumps(value, default=lambda a: a.tolist()).split(","):
            digits = re.sub(r"[^0-9.]", "", x)
            if len(digits) > 8:
                assert digits not in text, (name, digits)


def test_check_from_the_bundle_alone(bundle: Path, tmp_path: Path) -> None:
    student = tmp_path / "laptop"
    shutil.copytree(bundle, student / "dist" / "intro_ann")  # no assignments/, no reference/
    nb = student / "hw.ipynb"
    shutil.copy(EXAMPLES / "carol_typical_bugs.ipynb", nb)
    proc = run_grader(["check", str(nb), "--out", str(tmp_path / "fb")], student, tmp_path / "c")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # exact on any CPU: an accuracy is a count over 8 samples (7/8, 5/8)
    assert "accuracy: expected 0.875, got 0.625" in proc.stdout
    assert "31/41" in proc.stdout
    hidden = checks_of(ROOT / "assignments" / "intro_ann")[True]
    assert hidden and not [n for n in hidden if n in proc.stdout]
    report = json.loads((tmp_path / "fb" / "hw" / "report.json").read_text())
    assert [m["id"] for m in report["misconceptions"]] == ["acc_threshold_zero"]
    ok = run_grader(["check", str(EXAMPLES / "erin_module.py"), "--assignment", "intro_ann",
                     "--out", str(tmp_path / "fb")], student, tmp_path / "c")  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert not (tmp_path / "c" / "reference").exists()  # nothing was computed from a reference


def test_the_self_check_file_is_a_wheel_pip_installs(bundle: Path, tmp_path: Path) -> None:
    """`%pip install intro_ann_check-....whl` (offline here: numpy and jinja2 are present),
    then the package imports and checks without the harness."""
    [wheel] = bundle.glob("*.whl")
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps"]
    proc = subprocess.run(
        [*pip, "--target", str(target), str(wheel)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert (target / "intro_ann_check" / "_graders" / "student" / "selfcheck.py").is_file()
    code = (
        "import sys; sys.modules['graders'] = None\n"
        f"sys.path.insert(0, {str(target)!r})\n"
        "from intro_ann_check import check\n"
        "def accuracy(probs, y, threshold=0.5):\n    return 0.0\n"
        "print(repr(check('accuracy')))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "FAIL accuracy" in run.stdout and "got 0" in run.stdout
