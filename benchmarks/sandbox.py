"""The sandbox's cost per submission: bwrap vs no sandbox, alternating in one process.

1. kernel start: start the kernel, install the runtime, run one trivial cell, kill it;
2. a full grade of one correct notebook (every cell, 17 probes, compare, score).

    .venv/bin/python benchmarks/sandbox.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from graders.grading.execute import KernelSession
from graders.grading.pipeline import grade_submission
from graders.grading.prepare import Settings, prepare
from graders.intake.discover import load_file
from graders.sandbox.bwrap import Sandbox, get_sandbox
from graders.spec.assignment import find_assignment

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "submissions" / "alice_correct.ipynb"


async def kernel_start(sandbox: Sandbox) -> float:
    limits = find_assignment("intro_ann").limits
    start = time.perf_counter()
    async with KernelSession(sandbox, limits, None) as ks:
        ks.place_files({})
        await ks.start()
        rec = await ks.run_cell(0, "pass")
        assert rec.status == "ok", rec
    return time.perf_counter() - start


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    cache = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    backends = {name: get_sandbox(name) for name in ("bwrap", "none")}
    starts: dict[str, list[float]] = {n: [] for n in backends}
    await kernel_start(backends["none"])  # warm-up
    for _ in range(args.repeat):
        for name, sb in backends.items():
            starts[name].append(await kernel_start(sb))
    grades: dict[str, list[float]] = {n: [] for n in backends}
    prepared = {
        n: await prepare(find_assignment("intro_ann"), Settings(cache_dir=cache, sandbox=n))
        for n in backends
    }
    sub = load_file(NOTEBOOK)
    for _ in range(max(1, args.repeat // 2 + 1)):
        for name, p in prepared.items():
            t = time.perf_counter()
            report = await grade_submission(p, sub)
            grades[name].append(time.perf_counter() - t)
            assert report.score == 100, report.output
    print(f"sandbox: {backends['bwrap'].describe()}")
    for label, data in (
        ("kernel start + 1 cell + kill", starts),
        ("full grade of 1 notebook", grades),
    ):
        b, n = statistics.median(data["bwrap"]), statistics.median(data["none"])
        runs = {k: [round(x, 2) for x in v] for k, v in data.items()}
        print(f"{label:30s} bwrap {b:6.2f} s  none {n:6.2f} s  ratio {b / n:.3f}  runs {runs}")


if __name__ == "__main__":
    asyncio.run(main())
