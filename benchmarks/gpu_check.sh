#!/usr/bin/env bash
# The GPU check (issue #6), run on the lent GPU machine from the repository root.
#
# Prepare here, once (both write into .whl/, which git ignores):
#   ../shared/device/fetch-wheels.sh          # the Jupyter stack, which the GPU machine lacks
#   bash benchmarks/gpu_check.sh --pack       # bubblewrap, setpriv, prlimit and their libraries
# Run there (device tool): command `bash benchmarks/gpu_check.sh`, carry [".whl"], timeout_s 480.
# It prints, and keeps in $OUT/gpu_check.log: where Python and torch live; CUDA seen inside the
# sandbox; the device in the reports; scores on CUDA equal to the CPU run's; the time of the
# FashionMNIST checks on GPU vs CPU; the GPU memory cap and the clean start after it; how
# workers pack onto one GPU; then the GPU tests.
#
# Rehearsal on a machine without a GPU (every step, with the CPU in place of CUDA), with a Python
# that has torch but no Jupyter stack, like the GPU machine's:
#   GPU_CHECK_DEVICE=cpu PYTHON=/path/to/python PACK_JOBS=4 bash benchmarks/gpu_check.sh
# (fetch the wheels for that Python's version: fetch-wheels.sh pins --python-version 3.12).
set -uo pipefail

if [ "${1:-}" = "--pack" ]; then  # here: the sandbox's binaries, and what they link to
  mkdir -p .whl/sys
  for tool in bwrap setpriv prlimit; do
    bin=$(command -v "$tool") || { echo "no $tool here: apt-get install bubblewrap util-linux"; exit 1; }
    cp "$bin" .whl/sys/
    ldd "$bin" | awk '$3 ~ /^\// {print $3}' | grep -v -e '/libc\.so' -e '/ld-linux' \
      | xargs -r -I{} cp -L {} .whl/sys/
  done
  ls .whl/sys
  exit 0
fi

DEVICE="${GPU_CHECK_DEVICE:-cuda}"
PY="${PYTHON:-python3}"
PACK_JOBS="${PACK_JOBS:-16}"
OUT="${OUT:-/tmp/gpu-check}"
SITE="${GPU_CHECK_SITE:-/tmp/site}"
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_check.log") 2>&1
export PYTHONUNBUFFERED=1
T0=$(date +%s)
section() { echo; echo "== $* (t=$(( $(date +%s) - T0 )) s)"; }

section "install"
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target "$SITE" .whl/*.whl || { echo "FAILED: the wheels did not install"; exit 1; }
# The harness shows the kernels $PYTHONPATH's package folders (read-only); the checkout is the
# working directory, never on the kernels' path.
export PYTHONPATH="$SITE"
libdir=$(dirname "$(ldd /bin/sh | awk '/libc\.so/ {print $3}')")
for tool in bwrap setpriv prlimit; do  # setpriv and prlimit run inside the sandbox: /usr/bin
  if ! command -v "$tool" >/dev/null && [ -x ".whl/sys/$tool" ]; then
    install -m 0755 ".whl/sys/$tool" "/usr/bin/$tool" && echo "installed the carried $tool"
  fi
done
for lib in .whl/sys/lib*; do
  [ -e "$lib" ] && [ ! -e "$libdir/$(basename "$lib")" ] && cp "$lib" "$libdir/" \
    && echo "installed the carried $(basename "$lib")"
done
command -v nvidia-smi >/dev/null && nvidia-smi -L
"$PY" - <<'PY'
import sys, torch
print("python", sys.version.split()[0], sys.executable, "prefix", sys.prefix, "base", sys.base_prefix)
print("torch", torch.__version__, "at", torch.__file__.rsplit("/", 2)[0], "| cuda build", torch.version.cuda,
      "| available", torch.cuda.is_available(), "| devices", torch.cuda.device_count())
import graders, ipykernel, nbclient
print("graders", graders.__version__, "| ipykernel", ipykernel.__version__, "| nbclient", nbclient.__version__)
PY
[ $? -eq 0 ] || { echo "FAILED: the harness cannot import what it needs"; exit 1; }
bwrap --ro-bind / / --dev /dev --proc /proc --unshare-pid true && echo "bubblewrap runs" \
  || echo "FAILED: bubblewrap does not run here"

section "CUDA inside the sandbox"
"$PY" - "$DEVICE" <<'PY'
import asyncio, sys, time
from graders.spec.assignment import find_assignment
from graders.grading.execute import KernelSession
from graders.sandbox.bwrap import get_sandbox, gpu_devices, python_path
device = sys.argv[1]
print("GPUs (from /dev):", gpu_devices(), "| kernels' python path:", python_path()[0])
code = ("import torch, os\n"
        "print('cuda available', torch.cuda.is_available(), '| devices', torch.cuda.device_count(),"
        " '| CUDA_VISIBLE_DEVICES', repr(os.environ.get('CUDA_VISIBLE_DEVICES')))\n"
        "dev = 'cuda' if torch.cuda.is_available() else 'cpu'\n"
        "x = torch.ones(2048, 2048, device=dev); print('matmul on', dev, float((x @ x).sum()))\n")
async def main():
    a = find_assignment("intro_ann")
    gpu = "0" if device == "cuda" else None
    async with KernelSession(get_sandbox("bwrap"), a.limits, None, gpu=gpu) as ks:
        ks.place_files({})
        t = time.monotonic()
        await ks.start()
        rec = await ks.run_cell(0, code)
        print(f"kernel {ks.start_seconds:.1f} s to start; cell {rec.status} in {rec.duration:.1f} s")
        print(rec.output.strip(), rec.error or "")
try:
    asyncio.run(main())
except Exception as exc:
    print("FAILED:", type(exc).__name__, exc)
PY

section "grade the examples on the CPU and on $DEVICE, with zygote and fresh kernels (exit 3: frank's notebook is broken on purpose)"
for run in "cpu:cpu:auto" "dev:$DEVICE:auto" "devfresh:$DEVICE:fresh"; do
  name=${run%%:*} rest=${run#*:}
  dev=${rest%%:*} kernels=${rest#*:}
  t=$(date +%s.%N)
  "$PY" -m graders grade intro_ann examples/submissions --out "$OUT/examples-$name" \
    --device "$dev" --kernels "$kernels" --jobs 6 >"$OUT/examples-$name.txt" 2>&1
  rc=$?
  echo "$dev ($kernels kernels): exit $rc, $("$PY" -c "import time; print(round(time.time() - $t, 1))") s for the examples"
  [ -f "$OUT/examples-$name/gradebook.csv" ] || tail -20 "$OUT/examples-$name.txt"
done
"$PY" - "$OUT" "$DEVICE" <<'PY'
import json, sys
from pathlib import Path
out, device = Path(sys.argv[1]), sys.argv[2]
same, n = True, 0
fm = lambda r: sum(t.get("duration", 0) for t in r.get("tests", []) if t.get("stub") in ("train_epoch", "evaluate"))
for rep in sorted((out / "examples-cpu").glob("*/report.json")):
    cpu = json.loads(rep.read_text())
    other = out / "examples-dev" / rep.parent.name / "report.json"
    if not other.exists():
        print(f"{rep.parent.name}: no {device} report"); same = False; continue
    gpu = json.loads(other.read_text())
    n += 1
    print(f"{rep.parent.name:18s} cpu {cpu['score']:5g} {device} {gpu['score']:5g} | FashionMNIST checks "
          f"cpu {fm(cpu):5.2f} s, {device} {fm(gpu):5.2f} s | whole submission cpu "
          f"{cpu['execution_time']:5.1f} s, {device} {gpu['execution_time']:5.1f} s | {gpu['device']}")
    same &= cpu["score"] == gpu["score"]
    fresh = out / "examples-devfresh" / rep.parent.name / "report.json"
    fresh_score = json.loads(fresh.read_text())["score"] if fresh.exists() else None
    print(f"{'':18s} {device} with fresh kernels {fresh_score} | kernels: {gpu['sandbox']}")
    same &= fresh_score == gpu["score"]
print(f"scores equal on the CPU and {device}, zygote and fresh ({n} submissions):", same and n > 0)
PY

section "GPU memory: over the cap gets a clear outcome; the next submission on that GPU starts clean"
"$PY" - "$OUT" <<'PY'
import sys
from pathlib import Path
sys.path[:0] = ["tools", "examples"]
from build_template import notebook, write
from make_examples import CORRECT
out = Path(sys.argv[1]) / "oom"
out.mkdir(parents=True, exist_ok=True)
hog = ("def train_epoch(model, loader, loss_fn, optimizer, device):\n"
       "    big = torch.empty(int(60 * 2**30), dtype=torch.uint8, device=device)\n"
       "    return float(big.float().sum())")
write(out / "a_hog.ipynb", notebook({**CORRECT, "train_epoch": hog}))
write(out / "b_correct.ipynb", notebook(CORRECT))
PY
"$PY" -m graders grade intro_ann "$OUT/oom" --out "$OUT/oom-out" --device "$DEVICE" --jobs 1 \
  >"$OUT/oom.txt" 2>&1
"$PY" - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1]) / "oom-out"
try:
    hog = json.loads((out / "a_hog" / "report.json").read_text())
    nxt = json.loads((out / "b_correct" / "report.json").read_text())
except OSError as exc:
    print("FAILED:", exc); sys.exit(0)
for t in hog["tests"]:
    if t["stub"] == "train_epoch":
        print(f"hog {t['name']}: {t['outcome']} | {(t.get('output') or '')[:160]}")
print("hog score:", hog["score"], "| events:", hog.get("events"))
print("next submission on the same GPU:", nxt["score"], "| peak memory MB:",
      round(nxt.get("timings", {}).get("peak_memory_mb", 0)))
PY

section "packing: 1 worker vs $PACK_JOBS workers on one $DEVICE"
"$PY" - "$OUT" "$PACK_JOBS" <<'PY'
import shutil, sys
from pathlib import Path
out, n = Path(sys.argv[1]), int(sys.argv[2])
for name, count in (("pack-1", 4), (f"pack-{n}", n)):
    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        shutil.copy("examples/submissions/alice_correct.ipynb", d / f"s{i:02d}.ipynb")
PY
for jobs in 1 "$PACK_JOBS"; do
  count=$(ls "$OUT/pack-$jobs" | wc -l)
  t=$(date +%s.%N)
  "$PY" -m graders grade intro_ann "$OUT/pack-$jobs" --out "$OUT/pack-$jobs-out" --device "$DEVICE" \
    --jobs "$jobs" --force >"$OUT/pack-$jobs.txt" 2>&1
  rc=$?
  echo "jobs $jobs: exit $rc, $count submissions, $("$PY" -c "import time; print(round((time.time() - $t) / $count, 2))") s per submission"
done
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=memory.used,memory.total --format=csv

section "GPU tests, and the kernel-environment tests (not the one that needs a whole graded run)"
PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 "$PY" -m pytest -q -p no:cacheprovider -k "not rerun" \
  tests/test_gpu.py tests/test_environment.py 2>&1 | tail -15
section "done"
