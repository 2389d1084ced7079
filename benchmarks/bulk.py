"""Bulk grading vs executing the same notebooks once each with plain sequential nbclient.

N copies of realistic submissions (correct, forgot zero_grad, typical bugs, untouched
template, in turn) are graded with `grade_many` (--jobs workers, sandboxed, reports written
as the CLI writes them), with kernels started ahead (--prestart on) and, with
--compare-prestart, without. In the same run the same N notebooks are executed one after
another with plain nbclient (same skipped cells, same data), and the ratio is printed. For
each size it prints:

* wall time, and seconds per submission (--sizes 10,40,160 shows how it grows);
* the harness's own time per submission: everything a report costs outside the kernel
  (comparison, scoring, rendering and writing the report files), measured directly;
* the kernel start time that pre-starting hid (started while another submission ran);
* the peak memory of a worker's kernel (from its cgroup).

    .venv/bin/python -m benchmarks.bulk --sizes 10,40 [--jobs 2] [--plain-at 40]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.overhead import plain
from graders.assignment import find_assignment
from graders.discover import discover
from graders.errors import default_jobs
from graders.grade import Prepared, Settings, grade_many, prepare
from graders.model import Report
from graders.report import write_submission

ROOT = Path(__file__).resolve().parent.parent
KINDS = ["alice_correct", "bob_forgot_zero_grad", "carol_typical_bugs", "dave_untouched"]


def make_submissions(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        src = ROOT / "examples" / "submissions" / f"{kind}.ipynb"
        shutil.copy(src, folder / f"s{i:03d}_{kind}.ipynb")


async def grade_run(p: Prepared, folder: Path, out: Path, prestart: bool) -> dict[str, float]:
    mode = "on" if prestart else "off"
    p = dataclasses.replace(p, settings=dataclasses.replace(p.settings, prestart=mode))
    subs = discover([folder]).submissions
    reports: list[Report] = []
    own: list[float] = []

    def on_done(r: Report) -> None:
        t = time.perf_counter()
        write_submission(out, r)
        own.append(r.execution_time - r.timings.get("total", 0.0) + time.perf_counter() - t)
        reports.append(r)

    start = time.perf_counter()
    await grade_many(p, subs, on_done)
    wall = time.perf_counter() - start
    peaks = [r.timings["peak_memory_mb"] for r in reports if "peak_memory_mb" in r.timings]
    return {
        "wall": wall,
        "per_sub": wall / len(subs),
        "own": statistics.mean(own),
        "hidden_start": statistics.mean(r.timings.get("kernel_start_ahead", 0.0) for r in reports),
        "start": statistics.mean(r.timings.get("kernel_start", 0.0) for r in reports),
        "peak_median": statistics.median(peaks) if peaks else 0.0,
        "peak_max": max(peaks) if peaks else 0.0,
        "scores": sum(r.score for r in reports),
    }


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,40")
    ap.add_argument("--jobs", type=int, default=default_jobs())
    ap.add_argument("--compare-prestart", action="store_true")
    ap.add_argument("--plain-at", type=int, default=40, help="0: skip plain nbclient")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="grader-bulk-"))
    p = await prepare(
        find_assignment("intro_ann"), Settings(cache_dir=work / "cache", jobs=args.jobs)
    )
    print(f"{args.jobs} jobs, sandbox {p.sandbox.describe()}, {os.cpu_count()} cores")
    modes = [True, False] if args.compare_prestart else [True]
    for n in sizes:
        folder = work / f"subs{n}"
        make_submissions(folder, n)
        for prestart in modes:
            r = await grade_run(p, folder, work / f"out{n}{prestart}", prestart)
            label = "prestart" if prestart else "no prestart"
            print(
                f"n={n:4d} {label:11s}: {r['wall']:7.1f} s wall, {r['per_sub']:.2f} s/submission; "
                f"harness own {r['own']:.3f} s/submission; kernel start in the way "
                f"{r['start']:.2f} s, hidden {r['hidden_start']:.2f} s; peak kernel memory "
                f"median {r['peak_median']:.0f} MB, max {r['peak_max']:.0f} MB; "
                f"total score {r['scores']:g}",
                flush=True,
            )
            if n == args.plain_at and prestart:
                grader_wall = r["wall"]
        if n == args.plain_at:
            start = time.perf_counter()
            for s in sorted(folder.iterdir()):
                await plain(s, p.data)
            sequential = time.perf_counter() - start
            print(f"n={n:4d} plain sequential nbclient: {sequential:.1f} s wall; ratio "
                  f"grader/plain {grader_wall / sequential:.3f}", flush=True)  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
