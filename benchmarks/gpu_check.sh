#!/usr/bin/env bash
# GPU check, run on the lent GPU machine from the repository root (see the `device` tool):
#   ../shared/device/fetch-wheels.sh rich markdown-it-py mdurl pygments pytest pluggy iniconfig  # here, once
#   cp "$(command -v bwrap)" .whl/bwrap                           # bubblewrap's binary travels too
#   run: bash benchmarks/gpu_check.sh        (carry: .whl)
# It installs what the GPU machine lacks, then prints: CUDA seen inside the sandbox, the device
# in the reports, scores on CUDA equal to the CPU run's, and the time per submission on GPU vs
# CPU for the FashionMNIST checks.
set -euo pipefail
OUT="${OUT:-/tmp/gpu-check}"
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD"
if ! command -v bwrap >/dev/null; then
  install -m 0755 .whl/bwrap /usr/local/bin/bwrap
fi
echo "== machine"
nvidia-smi -L || true
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"

echo "== CUDA inside the sandbox"
python3 - <<'PY'
import asyncio, nbformat
from graders.assignment import find_assignment
from graders.execute import KernelSession
from graders.sandbox import get_sandbox, gpu_devices
async def main():
    a = find_assignment("intro_ann")
    async with KernelSession(get_sandbox("bwrap"), a.limits, None, gpu="0") as ks:
        ks.place_files({})
        await ks.start()
        rec = await ks.run_cell(0, "import torch, os\nprint(torch.cuda.is_available(), torch.cuda.device_count(), os.environ.get('CUDA_VISIBLE_DEVICES'))\nx = torch.ones(2048, 2048, device='cuda'); print(float((x @ x).sum()))")
        print(rec.status, rec.output.strip(), rec.error)
print("gpus:", gpu_devices())
asyncio.run(main())
PY

echo "== grade the examples on CPU and on CUDA"
for dev in cpu cuda; do
  start=$(date +%s.%N)
  python3 -m graders grade intro_ann examples/submissions --out "$OUT/$dev" --device "$dev" --jobs 4 >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  echo "$dev: $(python3 -c "print(round($end - $start, 1))") s for the examples"
done
python3 - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
same = True
for rep in sorted((out / "cpu").glob("*/report.json")):
    cpu = json.loads(rep.read_text())
    gpu = json.loads((out / "cuda" / rep.parent.name / "report.json").read_text())
    fm = lambda r: sum(t["duration"] for t in r["tests"] if t["stub"] in ("train_epoch", "evaluate"))
    print(f"{rep.parent.name:24s} cpu {cpu['score']:6g} cuda {gpu['score']:6g}  device {gpu['device']}  "
          f"FashionMNIST checks: cpu {fm(cpu):.2f} s, cuda {fm(gpu):.2f} s")
    same &= cpu["score"] == gpu["score"]
print("scores equal on CPU and CUDA:", same)
PY

echo "== GPU memory: a submission over its cap gets a clear outcome; the next one starts clean"
python3 - "$OUT" <<'PY'
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
python3 -m graders grade intro_ann "$OUT/oom" --out "$OUT/oom-out" --device cuda --jobs 1 >/dev/null 2>&1 || true
python3 - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1]) / "oom-out"
hog = json.loads((out / "a_hog" / "report.json").read_text())
for t in hog["tests"]:
    if t["stub"] == "train_epoch":
        print("hog:", t["outcome"], "|", t["output"][:200])
print("hog score:", hog["score"], "| next submission on the same GPU:",
      json.loads((out / "b_correct" / "report.json").read_text())["score"])
PY

echo "== packing: 16 submissions with 1 worker vs 16 workers on one GPU"
python3 - "$OUT" <<'PY'
import shutil, sys
from pathlib import Path
out = Path(sys.argv[1]) / "pack"
out.mkdir(parents=True, exist_ok=True)
for i in range(16):
    shutil.copy("examples/submissions/alice_correct.ipynb", out / f"s{i:02d}.ipynb")
PY
for jobs in 1 16; do
  start=$(date +%s.%N)
  python3 -m graders grade intro_ann "$OUT/pack" --out "$OUT/pack-$jobs" --device cuda --jobs "$jobs" --force >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  echo "jobs $jobs: $(python3 -c "print(round(($end - $start) / 16, 2))") s per submission"
done
nvidia-smi --query-gpu=memory.used,memory.total --format=csv || true

echo "== GPU tests"
python3 -m pytest -q -m gpu tests/ -p no:cacheprovider || true
