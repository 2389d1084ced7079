"""Devices: which one grades (CPU or CUDA), the GPUs' names and memory, and whether the
workers pinned to one GPU fit in it. The one place that asks nvidia-smi or torch's build."""

from __future__ import annotations

import functools
import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

from ..errors import UsageError
from ..sandbox.bwrap import gpu_devices
from ..spec.assignment import Assignment
from .reference import library_versions


def resolve_device(assignment: Assignment, requested: str) -> tuple[str, list[str]]:
    """``auto``: CUDA when the assignment allows it and a GPU is visible; else the CPU."""
    if requested not in ("auto", "cpu", "cuda"):
        raise UsageError(f"unknown device {requested!r}; choose auto, cpu or cuda")
    gpus = gpu_devices()
    if requested == "cpu" or (requested == "auto" and not (assignment.allow_cuda and gpus)):
        return "cpu", []
    if not assignment.allow_cuda:
        raise UsageError(f"{assignment.name} does not allow CUDA (set allow_cuda in [grading])")
    if not gpus:
        raise UsageError("--device cuda: no NVIDIA GPU is visible here (no /dev/nvidia0)")
    return "cuda", gpus


@functools.lru_cache(maxsize=4)
def _gpu_query(gpus: tuple[str, ...]) -> dict[str, tuple[str, int]]:
    """Each GPU's name and memory in MiB, from nvidia-smi (nothing where it is missing)."""
    if not gpus or not shutil.which("nvidia-smi"):
        return {}
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return {}
    found = {}
    for line in out.strip().splitlines():
        index, _, rest = line.partition(", ")
        name, _, memory = rest.rpartition(", ")
        if name and memory.strip().isdigit():
            found[index.strip()] = (name, int(memory))
    return found


def gpu_names(gpus: list[str]) -> dict[str, str]:
    return {i: name for i, (name, _) in _gpu_query(tuple(gpus)).items()}


def gpu_memory(gpus: list[str]) -> dict[str, int]:
    return {i: mib for i, (_, mib) in _gpu_query(tuple(gpus)).items()}


def packing_note(jobs: int, gpus: list[str], cap_mb: int, memory: dict[str, int]) -> str:
    """A note when the workers that share a GPU may together take more memory than it has
    (each up to its ``gpu_memory_mb`` cap): a submission could then run out of GPU memory
    because of its neighbours. Empty where they fit, or where nothing is capped or known."""
    if not gpus or cap_mb <= 0:
        return ""
    per_gpu = -(-jobs // len(gpus))  # workers are pinned round robin
    tight = {g: mib for g, mib in memory.items() if g in gpus and per_gpu * cap_mb > mib}
    if not tight:
        return ""
    gpu, mib = min(tight.items(), key=lambda kv: kv[1])
    fits = max(1, mib // cap_mb) * len(gpus)
    return (
        f"note: {per_gpu} workers share each GPU, and their GPU memory caps ({cap_mb} MiB each, "
        f"gpu_memory_mb) add up to more than GPU {gpu} has ({mib} MiB): a submission may run "
        f"out of GPU memory because of its neighbours. --jobs {fits} stays within it (kernels "
        "usually take far less than their cap, so this is a risk, not a certainty)"
    )


@functools.lru_cache(maxsize=4)
def device_info(device: str) -> dict[str, str]:
    """What a report records of the device: its kind, torch's version and CUDA build."""
    info = {"name": device}
    versions = library_versions()
    if "torch" in versions:
        info["torch"] = versions["torch"]
    spec = importlib.util.find_spec("torch")
    for loc in (spec.submodule_search_locations or []) if spec else []:
        m = re.search(r"^cuda(?::[^=]*)?= *'([^']+)'", _read(Path(loc) / "version.py"), re.M)
        if m:
            info["cuda"] = m.group(1)
    return info


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
