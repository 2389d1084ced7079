"""The same grading on a real dask.distributed LocalCluster with worker processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
        if sub != "broken":  # each worker forks its kernels from a zygote of its own
            assert "forked from a zygote" in remote["sandbox"], remote["sandbox"]
    assert (out / "gradebook.csv").read_text().count("\n") == 1 + len(names)


def test_unreachable_scheduler_is_a_usage_error(graded: GradedRun, submissions: Path) -> None:
    args = ["grade", "intro_ann", str(submissions / "correct.ipynb"), "--out",
            str(graded.home / "x"), "--cluster", "tcp://127.0.0.1:1"]  # fmt: skip
    proc = run_grader(args, graded.home, graded.cache, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "cannot reach the Dask scheduler" in proc.stderr and "Traceback" not in proc.stderr


def _kill_a_worker_zygote(dask_worker: Any) -> bool:
    """Run on each worker (client.run): on the one grading a submission, once its zygote has
    forked the kernel and that kernel has had time to reach the slow cell, kill the zygote
    from outside; False elsewhere (the other worker's zygote from an earlier test too)."""
    import os
    import signal
    import time

    from graders.kernel import worker_zygotes

    if not dask_worker.state.executing_count:
        return False
    for provider in worker_zygotes._WORKER.values():
        for z in getattr(provider, "_zygotes", {}).values():
            if z.proc is not None and z.spawned and z.alive():
                time.sleep(4)
                os.killpg(z.proc.pid, signal.SIGKILL)
                return True
    return False


def test_a_killed_worker_zygote_costs_a_regrade_not_a_report(
    graded: GradedRun, scheduler: str, tmp_path: Path
) -> None:
    from build_template import notebook, write  # type: ignore[import-not-found]
    from distributed import Client
    from make_examples import CORRECT  # type: ignore[import-not-found]
    from nbformat.v4 import new_code_cell

    nb = notebook(CORRECT)
    nb.cells.insert(2, new_code_cell("import time\ntime.sleep(12)\nprint('slept')"))
    write(tmp_path / "slow.ipynb", nb)
    out = tmp_path / "out"
    args = ["grade", "intro_ann", str(tmp_path / "slow.ipynb"), "--out", str(out),
            "--cluster", scheduler]  # fmt: skip
    env = {**os.environ, "GRADER_HOME": str(graded.home), "GRADER_CACHE_DIR": str(graded.cache)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "graders", *args], cwd=graded.home, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    killed = False
    with Client(scheduler, timeout="30s") as client:
        deadline = time.monotonic() + 120
        while not killed and proc.poll() is None and time.monotonic() < deadline:
            killed = any(client.run(_kill_a_worker_zygote).values())
            time.sleep(0.5)
    stdout, stderr = proc.communicate(timeout=300)
    assert killed, "no worker zygote forked a kernel"
    assert proc.returncode == 0, stdout + stderr
    report = json.loads((out / "slow" / "report.json").read_text())
    assert report["status"] == "graded" and report["score"] == 100, report["reason"]
    assert report["event_kinds"][0] == "graded_again", report["events"]
    assert "graded again from the start" in report["events"][0]
    assert "forked from a zygote" in report["sandbox"]  # a new one, on the same worker
