"""The in-notebook check vs the terminal self-check, on the same notebook, in one script.

Builds the student bundle of intro_ann, then, in a real kernel driven by nbclient with only the
self-check file beside the notebook: the student's notebook (carol's typical bugs, whose
``accuracy`` is wrong) runs once, then ``check("accuracy")`` and ``check()`` run ``--repeat``
times each; their wall time is taken from the kernel's own execution timestamps (what the
student waits for, from the cell's start to its reply). The baseline, alternating with nothing
but measured in this same script: ``grader check`` on the saved notebook, what a student had
before (a fresh sandboxed kernel running the whole notebook). Prints the medians and ratios.

    .venv/bin/python benchmarks/selfcheck.py [--repeat 5] [--notebook PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from graders.grading.data import write_fashion_mnist
from graders.student.cells import TAG

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "submissions" / "carol_typical_bugs.ipynb"
GRADER = Path(sys.executable).parent / "grader"


def _seconds(cell: Any) -> float:
    """From the kernel's busy status to its execute reply: the cell's wall time."""
    ex = cell.metadata["execution"]
    start = datetime.fromisoformat(ex["iopub.status.busy"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(ex["shell.execute_reply"].replace("Z", "+00:00"))
    return (end - start).total_seconds()


def in_notebook(
    bundle: Path, notebook: Path, repeat: int, work: Path
) -> tuple[list[float], list[float]]:
    template = nbformat.read(bundle / "template.ipynb", as_version=4)
    setup = next(c.source for c in template.cells if TAG in c.metadata.get("tags", []))
    wheel = next(bundle.glob("*.whl"))
    cwd = work / "colab"
    cwd.mkdir()
    shutil.copy(wheel, cwd / wheel.name)
    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [c for c in nb.cells if "skip-grading" not in c.metadata.get("tags", [])]
    nb.cells.insert(0, new_code_cell(setup))
    first = len(nb.cells)
    nb.cells += [new_code_cell('check("accuracy")') for _ in range(repeat)]
    nb.cells += [new_code_cell("check()") for _ in range(repeat)]
    env = {**os.environ, "GRADER_DATA_DIR": str(write_fashion_mnist(work / "data", 200, 100))}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
    NotebookClient(
        nb, timeout=600, allow_errors=True, kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}}, record_timing=True,
    ).execute(env=env)  # fmt: skip
    text = "".join(o.get("data", {}).get("text/plain", "") for o in nb.cells[first].outputs)
    if notebook == NOTEBOOK:
        assert "FAIL accuracy" in text, text  # the check found the bug it should
    one = [_seconds(c) for c in nb.cells[first : first + repeat]]
    every = [_seconds(c) for c in nb.cells[first + repeat :]]
    return one, every


def terminal(bundle: Path, notebook: Path, repeat: int, work: Path) -> list[float]:
    home = work / "laptop"
    shutil.copytree(bundle, home / "dist" / bundle.name)
    shutil.copy(notebook, home / "hw.ipynb")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            [str(GRADER), "check", "hw.ipynb", "--out", str(work / "fb")],
            cwd=home, capture_output=True, check=False,
        )  # fmt: skip
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--notebook", type=Path, default=NOTEBOOK)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run(
            [str(GRADER), "build", "intro_ann", "--out", str(work / "dist")], check=True,
            capture_output=True,
        )  # fmt: skip
        bundle = work / "dist" / "intro_ann"
        one, every = in_notebook(bundle, args.notebook, args.repeat, work)
        fresh = terminal(bundle, args.notebook, args.repeat, work)
    m_one, m_all, m_fresh = (statistics.median(x) for x in (one, every, fresh))
    print(f'check("accuracy") in the notebook: median {m_one * 1000:.1f} ms  {one}')
    print(f"check() in the notebook (9 checks): median {m_all:.2f} s  {every}")
    print(f"grader check on the saved file:      median {m_fresh:.2f} s  {fresh}")
    print(f"ratios to grader check: accuracy {m_one / m_fresh:.4f}, all {m_all / m_fresh:.3f}")


if __name__ == "__main__":
    main()
