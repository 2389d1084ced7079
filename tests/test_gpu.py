"""Device selection and GPU passthrough. The GPU runs themselves need CUDA: marked `gpu`,
skipped without it, and run on a GPU machine by benchmarks/gpu_check.sh."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from graders.errors import UsageError
from graders.grading import devices
from graders.sandbox.bwrap import Bubblewrap, NoSandbox, SandboxSpec, gpu_devices
from graders.spec.assignment import Limits, find_assignment
from tests.conftest import ROOT, run_grader


def test_device_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    a = find_assignment("intro_ann", ROOT)
    assert a.allow_cuda
    monkeypatch.setattr(devices, "gpu_devices", lambda: [])
    assert devices.resolve_device(a, "auto") == ("cpu", [])
    with pytest.raises(UsageError, match="no NVIDIA GPU"):
        devices.resolve_device(a, "cuda")
    monkeypatch.setattr(devices, "gpu_devices", lambda: ["0", "1"])
    assert devices.resolve_device(a, "auto") == ("cuda", ["0", "1"])
    assert devices.resolve_device(a, "cpu") == ("cpu", [])
    info = devices.device_info("cpu")
    assert info["name"] == "cpu" and info["torch"]


def test_gpu_passthrough_only_when_asked(tmp_path: Path) -> None:
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    sb = Bubblewrap(shutil.which("bwrap") or "bwrap")
    for d in ("w", "r"):
        (tmp_path / d).mkdir()
    cpu = SandboxSpec(tmp_path / "w", tmp_path / "r", None, Limits())
    gpu = SandboxSpec(tmp_path / "w", tmp_path / "r", None, Limits(), gpu="1")
    cmd_cpu, cmd_gpu = sb.wrap(["python"], cpu, None), sb.wrap(["python"], gpu, None)
    assert "/sys" not in cmd_cpu and not any(a.startswith("/dev/nvidia") for a in cmd_cpu)
    assert cmd_gpu[cmd_gpu.index("/sys") - 1] == "--ro-bind"
    j = cmd_gpu.index("CUDA_VISIBLE_DEVICES")
    assert cmd_gpu[j - 1 : j + 2] == ["--setenv", "CUDA_VISIBLE_DEVICES", "1"]
    i = cmd_cpu.index("CUDA_VISIBLE_DEVICES")
    assert cmd_cpu[i + 1] == ""  # on the CPU, CUDA sees no GPU at all
    assert NoSandbox().env(cpu)["CUDA_VISIBLE_DEVICES"] == ""


def test_gpu_names_and_memory_from_nvidia_smi(monkeypatch: pytest.MonkeyPatch) -> None:
    out = "0, NVIDIA H100 80GB HBM3, 81559\n1, NVIDIA H200, 143771\n"
    monkeypatch.setattr(devices.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(
        devices.subprocess, "run", lambda *a, **kw: subprocess.CompletedProcess(a, 0, stdout=out)
    )
    gpus = ["0", "1"]
    devices._gpu_query.cache_clear()
    try:
        assert devices.gpu_names(gpus) == {"0": "NVIDIA H100 80GB HBM3", "1": "NVIDIA H200"}
        assert devices.gpu_memory(gpus) == {"0": 81559, "1": 143771}
    finally:
        devices._gpu_query.cache_clear()  # no fake answer outlives this test


def test_packing_note_when_capped_workers_outgrow_a_gpu() -> None:
    h100 = {"0": 81559, "1": 81559}
    assert devices.packing_note(16, ["0", "1"], 8192, h100) == ""  # 8 x 8 GiB fit in 80 GB
    note = devices.packing_note(16, ["0"], 8192, {"0": 81559})
    assert "16 workers share each GPU" in note and "--jobs 9 " in note
    assert "--jobs 18 " in devices.packing_note(24, ["0", "1"], 8192, h100)  # 12 per GPU
    assert devices.packing_note(16, ["0"], 0, {"0": 81559}) == ""  # no cap: nothing to add up
    assert devices.packing_note(16, ["0"], 8192, {}) == ""  # memory unknown (no nvidia-smi)
    assert devices.packing_note(4, [], 8192, {}) == ""  # on the CPU


@pytest.mark.gpu
@pytest.mark.kernel
@pytest.mark.skipif(not gpu_devices(), reason="no NVIDIA GPU on this machine")
def test_cuda_grades_equal_cpu_grades(home: Path, cache: Path, submissions: Path) -> None:
    """The same submissions graded on the CPU and on CUDA (the reference always on the CPU)
    get the same scores, and the CUDA reports name the GPU. Self-contained (no session-wide
    graded run), so that the GPU machine runs it in a minute."""
    names = ["correct", "bob", "carol"]
    scores: dict[str, dict[str, float]] = {}
    for device in ("cpu", "cuda"):
        out = home / f"{device}-out"
        args = ["grade", "intro_ann", *(str(submissions / f"{n}.ipynb") for n in names),
                "--out", str(out), "--device", device, "--jobs", "3"]  # fmt: skip
        proc = run_grader(args, home, cache)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        for n in names:
            r = json.loads((out / n / "report.json").read_text())
            assert r["device"]["name"] == device
            if device == "cuda":
                assert r["device"]["gpu"] and r["device"].get("cuda"), r["device"]
            scores.setdefault(n, {})[device] = r["score"]
    assert scores["correct"]["cuda"] == 100
    assert all(s["cpu"] == s["cuda"] for s in scores.values()), scores
