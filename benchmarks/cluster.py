"""The same submissions graded locally and through a Dask LocalCluster, in one script.

40 intro_ann submissions (the four gradable examples, ten copies each under their own names)
are graded three times with the same warm cache: once to warm it (not timed), then locally
with ``--jobs 2``, then with ``--cluster`` on a LocalCluster of 2 worker processes (1 thread
each) started here, whose workers keep a zygote each (zygote.worker_provider). Prints both
wall times (the whole command), their ratio, and whether every report agrees (status, score,
each check's outcome and score).

    .venv/bin/python benchmarks/cluster.py [--copies 10]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ["alice_correct.ipynb", "bob_forgot_zero_grad.ipynb", "carol_typical_bugs.ipynb",
            "erin_module.py"]  # fmt: skip
CLUSTER = """
import sys
from distributed import LocalCluster
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
print(cluster.scheduler_address, flush=True)
sys.stdin.read()
cluster.close()
"""


def _grade(subs: Path, out: Path, cache: Path, *extra: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "graders", "grade", "intro_ann", str(subs), "--out", str(out),
         "--cache-dir", str(cache), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if proc.returncode not in (0, 1):  # 1: points lost, as bob's and carol's do
        raise SystemExit(f"grade failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0


def _digest(out: Path) -> dict[str, object]:
    reports = {}
    for path in sorted(out.glob("*/report.json")):
        r = json.loads(path.read_text())
        tests = [(t["name"], t["outcome"], t["score"]) for t in r["tests"]]
        reports[path.parent.name] = (r["status"], r["score"], tests)
    return reports


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        subs = tmp / "subs"
        subs.mkdir()
        for i in range(args.copies):
            for name in EXAMPLES:
                src = ROOT / "examples" / "submissions" / name
                shutil.copy(src, subs / f"{Path(name).stem}_{i:02d}{src.suffix}")
        cache = tmp / "cache"
        _grade(subs, tmp / "warm", cache, "-j", "2")
        local = _grade(subs, tmp / "local", cache, "-j", "2")
        cluster = subprocess.Popen(
            [sys.executable, "-c", CLUSTER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
        )  # fmt: skip
        assert cluster.stdout is not None and cluster.stdin is not None
        address = cluster.stdout.readline().strip()
        try:
            remote = _grade(subs, tmp / "cluster", cache, "--cluster", address)
        finally:
            cluster.stdin.close()
            cluster.wait(timeout=120)
        same = _digest(tmp / "local") == _digest(tmp / "cluster")
        reports = (tmp / "cluster").glob("*/report.json")
        kinds = {json.loads(p.read_text())["sandbox"] for p in reports}
    n = len(EXAMPLES) * args.copies
    print(f"{n} submissions")
    print(f"local, --jobs 2:               {local:6.1f} s")
    print(f"LocalCluster, 2 workers:       {remote:6.1f} s  ({remote / local:.2f}x local)")
    print(f"identical reports: {same}; cluster kernels: {sorted(kinds)}")


if __name__ == "__main__":
    main()
