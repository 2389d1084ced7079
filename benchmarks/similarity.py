"""The similarity report for a class of 300 (issue 24's target: under a minute on 2 cores).

Builds N intro_ann notebooks (default 300): each student takes, for each stub, one of the test
class's solutions (tests/similarity_class.py: eight students written in different styles), so
many pairs share whole stubs, as a real class does. Then, in this one process:

- baseline: reading every notebook and extracting its code per stub (what any report needs);
- the whole ``grader similarity`` path (similarity_report.run): extraction, copydetect's
  fingerprints, every pair per stub and overall, similarity.json and similarity.html.

Prints both times and their ratio.

    .venv/bin/python benchmarks/similarity.py [--students 300]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "examples")]

from build_template import STUBS, notebook, write  # noqa: E402

from graders.analysis.similarity import extract  # noqa: E402
from graders.analysis.similarity_report import Options, run  # noqa: E402
from graders.intake.discover import discover  # noqa: E402
from graders.spec.assignment import find_assignment  # noqa: E402
from tests.similarity_class import INDEPENDENT, planted  # noqa: E402


def make_class(folder: Path, n: int) -> None:
    pool = {**INDEPENDENT, **planted()}
    rng = random.Random(24)
    stubs = sorted(INDEPENDENT["ana"])
    for i in range(n):
        mine = {s: pool[rng.choice(sorted(pool))][s] for s in stubs}
        write(folder / f"student_{i:03d}.ipynb", notebook({**STUBS, **mine}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=300)
    args = ap.parse_args()
    assignment = find_assignment("intro_ann")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        make_class(folder, args.students)
        t0 = time.perf_counter()
        found = discover([folder])
        for s in found.submissions:
            extract(s.id, s.data, s.kind, assignment.stubs)
        baseline = time.perf_counter() - t0
        t0 = time.perf_counter()
        data = run(assignment, discover([folder]), Path(tmp) / "out", Options())
        whole = time.perf_counter() - t0
        size = (Path(tmp) / "out" / "similarity.html").stat().st_size
    print(f"{args.students} submissions, {data['pairs_total']} pairs")
    print(f"read and extract (baseline): {baseline:6.1f} s")
    print(f"grader similarity (all):     {whole:6.1f} s  ({whole / baseline:.1f}x the baseline)")
    print(f"similarity.html: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
