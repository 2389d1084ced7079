"""Bulk grading vs executing the same notebooks once each with plain sequential nbclient.

N copies of realistic submissions (correct, forgot zero_grad, typical bugs, untouched
template, in turn) are graded with `grade_many` (--jobs workers, sandboxed), and in the same
run executed one after another with plain nbclient (same skipped cells, same data). Prints
both wall times, their ratio, the harness's own time per submission (wall time of the run
minus the kernels' own start/cells/checks time, divided by the number of workers), and the
peak memory of a worker's kernel (from its cgroup).

    .venv/bin/python benchmarks/bulk.py --n 8 [--jobs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.overhead import plain
from graders.assignment import find_assignment
from graders.discover import discover
from graders.grade import Settings, grade_many, prepare
from graders.model import Report

ROOT = Path(__file__).resolve().parent.parent
KINDS = ["alice_correct", "bob_forgot_zero_grad", "carol_typical_bugs", "dave_untouched"]


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-plain", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="grader-bulk-"))
    subs_dir = work / "subs"
    subs_dir.mkdir()
    for i in range(args.n):
        kind = KINDS[i % len(KINDS)]
        shutil.copy(
            ROOT / "examples" / "submissions" / f"{kind}.ipynb", subs_dir / f"s{i:03d}_{kind}.ipynb"
        )
    p = await prepare(
        find_assignment("intro_ann"), Settings(cache_dir=work / "cache", jobs=args.jobs)
    )
    subs = discover([subs_dir]).submissions

    reports: list[Report] = []
    start = time.perf_counter()
    await grade_many(p, subs, reports.append)
    graded = time.perf_counter() - start

    kernel_time = sum(r.timings.get("total", 0.0) for r in reports)
    overhead = (graded * args.jobs - kernel_time) / len(reports)
    peaks = [r.timings["peak_memory_mb"] for r in reports if "peak_memory_mb" in r.timings]
    print(f"{args.n} submissions, {args.jobs} jobs, sandbox {p.sandbox.describe()}")
    print(f"grader: {graded:.1f} s wall ({graded / args.n:.2f} s per submission)")
    print(f"harness overhead beyond kernels: {overhead:.3f} s per submission")
    if peaks:
        print(
            f"peak kernel memory: median {statistics.median(peaks):.0f} MB, max {max(peaks):.0f} MB"
        )
    if not args.skip_plain:
        start = time.perf_counter()
        for s in sorted(subs_dir.iterdir()):
            await plain(s, p.data)
        sequential = time.perf_counter() - start
        print(f"plain sequential nbclient: {sequential:.1f} s wall")
        print(f"ratio grader/plain: {graded / sequential:.3f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
