"""The first run of an assignment (empty cache), and the run after editing one known mistake.

In one script, on a copy of intro_ann in a temporary home (the repository is not touched),
``grader grade intro_ann alice_correct.ipynb`` is timed (wall clock, the whole command):

- cold, ``--kernels fresh``: the baseline, how every run started before issue 25 (the
  reference and each of the 15 known mistakes in a fresh kernel that imports torch again);
- cold, the default kernels (where the zygote works: the reference and the mistakes forked
  from the run's own zygote, side by side);
- warm (everything cached);
- after editing one mistake (a comment added to one function of mistakes.py): only that
  mistake runs again.

    .venv/bin/python benchmarks/first_run.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRADER = Path(sys.executable).parent / "grader"
NOTEBOOK = ROOT / "examples" / "submissions" / "alice_correct.ipynb"


def _home(tmp: Path) -> Path:
    home = tmp / "home"
    shutil.copytree(ROOT / "assignments" / "intro_ann", home / "assignments" / "intro_ann")
    shutil.copytree(ROOT / "reference" / "intro_ann", home / "reference" / "intro_ann")
    return home


def _grade(home: Path, cache: Path, out: Path, *extra: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(GRADER), "grade", "intro_ann", str(NOTEBOOK), "--out", str(out),
         "--cache-dir", str(cache), "--force", *extra],
        cwd=home, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"grade failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return took


def _edit_one_mistake(home: Path, n: int) -> None:
    path = home / "assignments" / "intro_ann" / "mistakes.py"
    text = path.read_text()
    line = "        xs.append(xs[-1] + lr * df(xs[-1]))"  # gd_ascent's step
    assert line in text, "gd_ascent changed: update the benchmark"
    path.write_text(text.replace(line, f"{line}  # edit {n}", 1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    times: dict[str, list[float]] = {k: [] for k in ("fresh", "cold", "warm", "edited")}
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            home = _home(tmp)
            times["fresh"].append(_grade(home, tmp / "c1", tmp / "o1", "--kernels", "fresh"))
            times["cold"].append(_grade(home, tmp / "c2", tmp / "o2"))
            times["warm"].append(_grade(home, tmp / "c2", tmp / "o3"))
            _edit_one_mistake(home, i)
            times["edited"].append(_grade(home, tmp / "c2", tmp / "o4"))
    base = statistics.median(times["fresh"])
    for name, label in (
        ("fresh", "cold, --kernels fresh (baseline)"),
        ("cold", "cold, default kernels"),
        ("warm", "warm"),
        ("edited", "after editing one mistake"),
    ):
        med = statistics.median(times[name])
        print(f"{label:34} {med:6.1f} s  ({med / base:.2f}x the baseline)  {times[name]}")


if __name__ == "__main__":
    main()
