"""Cgroups: one memory+pids cgroup per kernel, v1 (separate hierarchies) or v2 (unified).

Where none can be made (no root, no delegation, no controllers) :meth:`Cgroup.create` says
None and the session notes it; the kernel then runs under rlimits only. Used by both sandbox
backends' kernels and by the zygote's children.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from pathlib import Path

from ..spec.assignment import Limits

CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_MEMORY, V1_PIDS = CGROUP_ROOT / "memory", CGROUP_ROOT / "pids"


def no_cgroup_note(cuda: bool) -> str:
    """What a kernel without a cgroup is limited by (said once per session)."""
    memory = (
        "memory is not limited (RLIMIT_AS cannot be used with CUDA)"
        if cuda
        else "memory is limited only roughly (RLIMIT_AS)"
    )
    return f"no cgroup available: {memory} and the number of processes not at all"


def _make_v1(name: str, limits: Limits, made: list[Path]) -> list[Path]:
    mem = limits.memory_mb * 1024 * 1024
    dm, dp = V1_MEMORY / name, V1_PIDS / name
    dm.mkdir(parents=True)
    made.append(dm)
    dp.mkdir(parents=True)
    made.append(dp)
    (dm / "memory.limit_in_bytes").write_text(str(mem))
    swap = dm / "memory.memsw.limit_in_bytes"
    if swap.exists():
        swap.write_text(str(mem))
    (dp / "pids.max").write_text(str(limits.max_processes))
    return [dm, dp]


def _make_v2(name: str, limits: Limits, made: list[Path]) -> list[Path]:
    parent = CGROUP_ROOT / "grader"
    parent.mkdir(exist_ok=True)
    (parent / "cgroup.subtree_control").write_text("+memory +pids")
    d = CGROUP_ROOT / name
    d.mkdir()
    made.append(d)
    (d / "memory.max").write_text(str(limits.memory_mb * 1024 * 1024))
    (d / "memory.swap.max").write_text("0")
    (d / "pids.max").write_text(str(limits.max_processes))
    return [d]


class Cgroup:
    """One memory+pids cgroup per kernel (v1 or v2), or nothing where none can be made."""

    def __init__(self, dirs: list[Path], version: int) -> None:
        self.dirs = dirs
        self.version = version

    @classmethod
    def create(cls, limits: Limits) -> Cgroup | None:
        """A new cgroup capped at the limits, or None where none can be made here."""
        name = f"grader/{uuid.uuid4().hex[:12]}"
        made: list[Path] = []
        try:
            # v1 (hybrid machines, like this project's): separate memory and pids hierarchies.
            if (V1_MEMORY / "memory.limit_in_bytes").exists() and (
                V1_PIDS / "cgroup.procs"
            ).exists():
                return cls(_make_v1(name, limits, made), 1)
            controllers = (CGROUP_ROOT / "cgroup.controllers").read_text().split()
            if {"memory", "pids"} <= set(controllers):
                return cls(_make_v2(name, limits, made), 2)
        except OSError:
            for d in reversed(made):
                try:
                    d.rmdir()
                except OSError:
                    pass
        return None

    def join_prefix(self) -> list[str]:
        joins = " && ".join(f'echo $$ > "{d}/cgroup.procs"' for d in self.dirs)
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "sh"]

    def oom_killed(self) -> bool:
        try:
            if self.version == 1:
                text = (self.dirs[0] / "memory.oom_control").read_text()
            else:
                text = (self.dirs[0] / "memory.events").read_text()
        except OSError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip() not in ("", "0"):
                return True
        return False

    def peak_bytes(self) -> int | None:
        """The most memory the kernel and its children used (v1 max_usage, v2 memory.peak)."""
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        try:
            return int((self.dirs[0] / name).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def pids_exhausted(self) -> bool:
        d = self.dirs[-1]
        try:
            for line in (d / "pids.events").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "max" and value.strip() != "0":
                    return True
        except OSError:
            pass
        return False

    def kill_all(self) -> None:
        for d in self.dirs:
            if self.version == 2 and (d / "cgroup.kill").exists():
                try:
                    (d / "cgroup.kill").write_text("1")
                except OSError:
                    pass
            try:
                for pid in (d / "cgroup.procs").read_text().split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
            except OSError:
                pass

    async def remove(self) -> None:
        """Kill what is left and remove the cgroup; dying tasks (an OOM kill, a fork bomb's
        hundreds of children) can take seconds to leave it."""
        self.kill_all()
        for d in self.dirs:
            for _ in range(200):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    self.kill_all()
                    await asyncio.sleep(0.05)

    @staticmethod
    def sweep(max_age: float = 3600.0) -> None:
        """Remove empty cgroups that a killed harness left behind (older than an hour, so
        never one that another grading run has just made)."""
        now = time.time()
        for ctl in ("memory", "pids", ""):
            parent = CGROUP_ROOT / ctl / "grader" if ctl else CGROUP_ROOT / "grader"
            try:
                children = [d for d in parent.iterdir() if d.is_dir()]
            except OSError:
                continue
            for d in children:
                try:
                    if (
                        now - d.stat().st_mtime > max_age
                        and not (d / "cgroup.procs").read_text().strip()
                    ):
                        d.rmdir()
                except OSError:
                    continue
