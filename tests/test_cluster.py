"""The same grading on a real dask.distributed LocalCluster with worker processes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GradedRun, run_grader

pytest.importorskip("distributed")
pytestmark = pytest.mark.kernel

CLUSTER = """
import sys
from distributed import LocalCluster
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
print(cluster.scheduler_address, flush=True)
sys.stdin.read()  # until the test closes our stdin
cluster.close()
"""


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CLUSTER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    address = proc.stdout.readline().strip()
    assert address.startswith("tcp://"), address
    yield address
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=60)
    proc.stdout.close()


def test_cluster_gives_the_local_grades(
    graded: GradedRun, scheduler: str, submissions: Path
) -> None:
    out = graded.home / "cluster-out"
    names = ["correct.ipynb", "bob.ipynb", "module_correct.py", "broken.ipynb"]
    args = ["grade", "intro_ann", *(str(submissions / n) for n in names), "--out", str(out),
            "--cluster", scheduler]  # fmt: skip
    proc = run_grader(args, graded.home, graded.cache)
    assert proc.returncode == 3, proc.stdout + proc.stderr  # broken.ipynb is ungradable
    for name in names:
        sub = Path(name).stem
        remote = json.loads((out / sub / "report.json").read_text())
        local = graded.reports[sub]
        assert remote["score"] == local["score"], sub
        assert [t["outcome"] for t in remote["tests"]] == [t["outcome"] for t in local["tests"]]
    assert (out / "gradebook.csv").read_text().count("\n") == 1 + len(names)


def test_unreachable_scheduler_is_a_usage_error(graded: GradedRun, submissions: Path) -> None:
    args = ["grade", "intro_ann", str(submissions / "correct.ipynb"), "--out",
            str(graded.home / "x"), "--cluster", "tcp://127.0.0.1:1"]  # fmt: skip
    proc = run_grader(args, graded.home, graded.cache, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "cannot reach the Dask scheduler" in proc.stderr and "Traceback" not in proc.stderr
