"""Grading one correct submission vs executing the same notebook once with plain nbclient.

Both run in this process, alternating, on the same machine: plain nbclient (its own kernel,
the same `skip-grading` cells skipped, the same data), then `grade_submission` (sandboxed
kernel, all 17 probes, comparison, scoring). The reference is computed before timing starts,
as it is once per run in real use. Prints the medians and their ratio.

    .venv/bin/python benchmarks/overhead.py [--repeat 5] [--sandbox bwrap|none]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from graders.grading.pipeline import grade_submission
from graders.grading.prepare import Settings, prepare
from graders.intake.discover import load_file
from graders.spec.assignment import find_assignment

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "submissions" / "alice_correct.ipynb"


async def plain(path: Path, data: Path | None) -> float:
    nb = nbformat.read(path, as_version=4)
    env = {**os.environ, "GRADER_DATA_DIR": str(data)} if data else dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
    with tempfile.TemporaryDirectory() as cwd:
        client = NotebookClient(
            nb, timeout=600, allow_errors=True, skip_cells_with_tag="skip-grading",
            resources={"metadata": {"path": cwd}},
        )  # fmt: skip
        start = time.perf_counter()
        await client.async_execute(env=env)
        return time.perf_counter() - start


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sandbox", default="bwrap")
    args = ap.parse_args()
    cache = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    p = await prepare(find_assignment("intro_ann"), Settings(cache_dir=cache, sandbox=args.sandbox))
    sub = load_file(NOTEBOOK)
    await plain(NOTEBOOK, p.data)  # warm the page cache for both
    plain_t, grade_t, score = [], [], 0.0
    for _ in range(args.repeat):
        plain_t.append(await plain(NOTEBOOK, p.data))
        start = time.perf_counter()
        report = await grade_submission(p, sub)
        grade_t.append(time.perf_counter() - start)
        score = report.score
    mp, mg = statistics.median(plain_t), statistics.median(grade_t)
    print(f"notebook: {NOTEBOOK.name}, sandbox: {p.sandbox.describe()}, repeats: {args.repeat}")
    print(f"plain nbclient execution: median {mp:.2f} s  {[round(t, 2) for t in plain_t]}")
    print(f"grader (run + 17 checks): median {mg:.2f} s  {[round(t, 2) for t in grade_t]}")
    print(f"ratio grader/plain: {mg / mp:.3f}   (score {score:g}/100)")


if __name__ == "__main__":
    asyncio.run(main())
