"""Bulk grading with each kernel provider, side by side, against plain sequential nbclient.

Three measurements, all in this one process, on the same machine:

* **course**: N course-like submissions of intro_ann (the README's demo set in turn: correct,
  forgot zero_grad, typical bugs, untouched template) graded with `grade_many` and --jobs
  workers by each provider (``--kernels zygote,fresh``), reports written as the CLI writes
  them. Each provider starts cold: a new zygote per run, its boot on the clock.
* **minimal**: M notebooks that import only numpy and torch (numpy_review's four examples in
  turn) graded by each provider, and the same M executed one after another with plain
  nbclient (no sandbox, no checks); the ratio grader/plain is printed.
* **growth**: intro_ann graded with the first provider at each of --sizes, seconds per
  submission (linear growth: a flat line).

The reference and the known mistakes are computed before any timing (once per assignment and
cached, as on every run but an assignment's first).

    .venv/bin/python -m benchmarks.bulk [--course 20] [--minimal 40] [--sizes 10,40,160]
                                        [--jobs 2] [--kernels zygote,fresh]
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
from graders.errors import default_jobs
from graders.grading.prepare import Prepared, Settings, prepare
from graders.grading.schedule import grade_many
from graders.intake.discover import discover
from graders.kernel.zygote import choose_kernels
from graders.report.pages import write_submission
from graders.spec.assignment import find_assignment
from graders.verdict.model import Report

ROOT = Path(__file__).resolve().parent.parent
COURSE = [ROOT / "examples" / "submissions" / f"{k}.ipynb" for k in (
    "alice_correct", "bob_forgot_zero_grad", "carol_typical_bugs", "dave_untouched")]  # fmt: skip
MINIMAL = sorted((ROOT / "examples" / "numpy_review").glob("*.ipynb"))


def make_submissions(folder: Path, kinds: list[Path], n: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        src = kinds[i % len(kinds)]
        shutil.copy(src, folder / f"s{i:03d}_{src.name}")
    return folder


async def grade_run(p: Prepared, folder: Path, out: Path, kernels: str) -> dict[str, float]:
    """Grade every notebook in ``folder`` with a provider of its own (a cold zygote)."""
    a = p.assignment
    provider, note = choose_kernels(kernels, p.sandbox, a.limits, p.data, a.heavy_imports)
    p = dataclasses.replace(p, kernels=provider, settings=dataclasses.replace(p.settings))
    subs = discover([folder]).submissions
    reports: list[Report] = []

    def on_done(r: Report) -> None:
        write_submission(out, r)
        reports.append(r)

    start = time.perf_counter()
    try:
        await grade_many(p, subs, on_done)
    finally:
        await provider.close()
    wall = time.perf_counter() - start
    peaks = [r.timings["peak_memory_mb"] for r in reports if "peak_memory_mb" in r.timings]
    return {
        "wall": wall,
        "per_sub": wall / len(subs),
        "start": statistics.mean(r.timings.get("kernel_start", 0.0) for r in reports),
        "peak_median": statistics.median(peaks) if peaks else 0.0,
        "scores": sum(r.score for r in reports),
        "errors": sum(r.status.value == "error" for r in reports),
        "note": note,  # type: ignore[dict-item]
    }


def line(label: str, n: int, r: dict[str, float]) -> str:
    return (
        f"{label:28s} n={n:4d}: {r['wall']:7.1f} s wall, {r['per_sub']:.2f} s/submission, "
        f"kernel start {r['start']:.2f} s, peak kernel memory median {r['peak_median']:.0f} MB, "
        f"total score {r['scores']:g}, errors {r['errors']:g} {r['note'] or ''}"
    )


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--course", type=int, default=20)
    ap.add_argument("--minimal", type=int, default=40)
    ap.add_argument("--sizes", default="10,40,160", help="growth; empty: skip")
    ap.add_argument("--jobs", type=int, default=default_jobs())
    ap.add_argument("--kernels", default="zygote,fresh")
    args = ap.parse_args()
    providers = args.kernels.split(",")
    work = Path(tempfile.mkdtemp(prefix="grader-bulk-"))
    settings = Settings(cache_dir=work / "cache", jobs=args.jobs, kernels="fresh")
    course = await prepare(find_assignment("intro_ann"), settings)
    minimal = await prepare(find_assignment("numpy_review"), settings)
    print(f"{args.jobs} jobs, sandbox {course.sandbox.describe()}, {os.cpu_count()} cores")
    if args.course:
        folder = make_submissions(work / "course", COURSE, args.course)
        for kernels in providers:
            r = await grade_run(course, folder, work / f"out-course-{kernels}", kernels)
            print(line(f"course, {kernels}", args.course, r), flush=True)
    if args.minimal:
        folder = make_submissions(work / "minimal", MINIMAL, args.minimal)
        walls = {}
        for kernels in providers:
            r = await grade_run(minimal, folder, work / f"out-minimal-{kernels}", kernels)
            walls[kernels] = r["wall"]
            print(line(f"minimal, {kernels}", args.minimal, r), flush=True)
        start = time.perf_counter()
        for s in sorted(folder.iterdir()):
            await plain(s, None)
        sequential = time.perf_counter() - start
        ratios = ", ".join(f"{k} {w / sequential:.3f}" for k, w in walls.items())
        print(f"{'minimal, plain sequential':28s} n={args.minimal:4d}: {sequential:7.1f} s wall; "
              f"ratio grader/plain: {ratios}", flush=True)  # fmt: skip
    for n in [int(x) for x in args.sizes.split(",") if x]:
        folder = make_submissions(work / f"growth{n}", COURSE, n)
        r = await grade_run(course, folder, work / f"out-growth{n}", providers[0])
        print(line(f"growth, {providers[0]}", n, r), flush=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
