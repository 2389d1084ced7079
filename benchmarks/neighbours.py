"""What a hostile submission costs the correct one graded beside it (#32: "one submission must
never cost another anything").

For each hostile kind (the blank-line cell, the oversized reply, values that cannot be
compared, the exfiltrating exception, a cell nested 200k deep), that notebook and two correct
intro_ann ones are graded with --jobs 2, ``--repeats`` times: the second correct one starts
while the hostile one is in its host-side steps. The baseline is three correct notebooks,
in the same process, the same way. The last correct notebook's own time (its report's
execution_time) is printed for each, with the ratio to the baseline's median: the target is
under 2, with full marks every time.

    .venv/bin/python -m benchmarks.neighbours [--repeats 3] [--kernels auto]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from graders.grading.prepare import Prepared, Settings, prepare
from graders.grading.schedule import grade_many
from graders.intake.discover import discover
from graders.kernel.zygote import choose_kernels
from graders.spec.assignment import find_assignment
from graders.verdict.model import Report

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "examples")]
from build_template import notebook, write  # type: ignore[import-not-found]  # noqa: E402
from make_examples import CORRECT  # type: ignore[import-not-found]  # noqa: E402

HOSTILE = {
    "correct (baseline)": {},
    # train_epoch's cell is the blank lines: it is missing, and the failed cell is read
    "blank lines": {"train_epoch": "oops = (" + "\n" * 110_000},
    "oversized reply": {"train_epoch": "def train_epoch(*a):\n    return '0' * (20 * 2**20)"},
    "values not comparable": {
        "accuracy": "def accuracy(probs, y, threshold=0.5):\n    return np.zeros(13, complex)",
        "bce_loss": "def bce_loss(p, y):\n    return 10**400",
    },
    "exfiltrating exception": {
        "bce_loss": "def bce_loss(p, y):\n    raise ValueError('x' * 2000 + repr(p.tolist()))"
    },
    "nested 200k deep": {"evaluate": CORRECT["evaluate"] + "\nx = " + "(" * 200_000},
}


async def pair(p: Prepared, folder: Path, changes: dict[str, str]) -> Report:
    """Grade one with ``changes`` beside two correct notebooks, two at a time: the second
    correct one starts when the first ends, while the other is in its host-side steps
    (reading its failed cells, decoding its replies). Its report."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    write(folder / "a_other.ipynb", notebook({**CORRECT, **changes}))
    write(folder / "b_first.ipynb", notebook(CORRECT))
    write(folder / "c_correct.ipynb", notebook(CORRECT))
    reports: list[Report] = []
    await grade_many(p, discover([folder]).submissions, reports.append)
    return next(r for r in reports if r.submission.id == "c_correct")


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--kernels", default="auto")
    ap.add_argument("--only", default="", help="one hostile kind (and the baseline)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="grader-neighbours-"))
    settings = Settings(cache_dir=work / "cache", jobs=2, kernels=args.kernels)
    prepared = await prepare(find_assignment("intro_ann"), settings)
    await prepared.close()  # the reference's zygote: each measurement below starts its own
    a = prepared.assignment
    provider, _ = choose_kernels(args.kernels, prepared.sandbox, a.limits, prepared.data,
                                 a.heavy_imports)  # fmt: skip
    p = dataclasses.replace(prepared, kernels=provider)
    times: dict[str, list[float]] = {}
    scores: dict[str, list[float]] = {}
    try:
        await pair(p, work / "warm", {})  # the zygote's boot is no one's neighbour
        for _ in range(args.repeats):
            for kind, changes in HOSTILE.items():
                if args.only and kind not in (args.only, "correct (baseline)"):
                    continue
                r = await pair(p, work / "subs", changes)
                times.setdefault(kind, []).append(r.execution_time)
                scores.setdefault(kind, []).append(r.score)
    finally:
        await provider.close()
        shutil.rmtree(work, ignore_errors=True)
    base = statistics.median(times["correct (baseline)"])
    print(f"--jobs 2, {provider.describe()}, {args.repeats} repeats; the correct notebook's time")
    for kind, ts in times.items():
        med: Any = statistics.median(ts)
        print(f"  beside {kind:24s} {med:6.2f} s median (ratio {med / base:.2f}), "
              f"scores {sorted(set(scores[kind]))}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
