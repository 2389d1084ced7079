"""Kernel providers: how a :class:`~graders.grading.execute.KernelSession` gets its kernel process.

``fresh``
    one new sandboxed process per kernel (``python -m ipykernel_launcher`` inside bubblewrap,
    or unsandboxed for ``--sandbox none``); it imports the assignment's heavy modules itself.
``zygote``
    a kernel forked from a zygote that imported them once per run, each child in its own
    nested sandbox (:mod:`graders.kernel.zygote`). Needs bubblewrap as root, cgroups and nested
    user namespaces.
``auto``
    the zygote where it can work, fresh elsewhere; the report's ``sandbox`` says which.

Both hand the session a jupyter_client kernel manager; everything after the start (cells,
probes, interrupts, kills, cgroup limits) is the same code for both.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

from ..sandbox.bwrap import Sandbox, SandboxSpec
from ..sandbox.cgroups import Cgroup

KERNEL_CHOICES = ("auto", "zygote", "fresh")


class SandboxedKernelManager(AsyncKernelManager):  # type: ignore[misc]
    """A kernel manager whose kernel command runs inside a sandbox, over ipc."""

    def configure(self, sandbox: Sandbox, spec: SandboxSpec, cgroup: Cgroup | None) -> None:
        self._sandbox = sandbox
        self._spec = spec
        self._cgroup = cgroup
        self.transport = "ipc"
        self.ip = str(spec.runtime / "k")
        self.connection_file = str(spec.runtime / "kernel.json")
        # Signals would go to the sandbox's outer process and kill it (findings, pitfall 9).
        if self.kernel_spec is not None:
            self.kernel_spec.interrupt_mode = "message"

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = list(super().format_kernel_cmd(extra_arguments))
        cmd[0] = self._sandbox.python.executable  # the kernelspec names the harness's Python
        return self._sandbox.wrap(cmd, self._spec, self._cgroup)

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        if self._sandbox.uid is not None:  # uid 65534 must read it (findings, pitfall 1)
            os.chown(self.connection_file, self._sandbox.uid, self._sandbox.uid)


class KernelProvider:
    """Fresh kernels: one sandboxed process each (the default, and the fallback)."""

    def session_root(self, gpu: str | None) -> str | None:
        """The folder a session makes its own folder in (None: the system's temp dir)."""
        return None

    async def manager(
        self, sandbox: Sandbox, spec: SandboxSpec, cgroup: Cgroup | None
    ) -> SandboxedKernelManager:
        km = SandboxedKernelManager()
        km.configure(sandbox, spec, cgroup)
        return km

    def host_lost(self, km: SandboxedKernelManager) -> bool:
        """Whether the kernel died because the process it was forked from died (never, for a
        fresh kernel): the submission is then regraded, not blamed."""
        return False

    def release(self, km: SandboxedKernelManager) -> None:
        """The session is over: give back what the kernel held (its host uid)."""

    async def close(self) -> None:
        """End of the run."""

    def describe(self) -> str:
        return "a fresh kernel per submission"


FRESH = KernelProvider()


def make_session_dir(provider: KernelProvider, gpu: str | None) -> Path:
    return Path(tempfile.mkdtemp(prefix="grader-", dir=provider.session_root(gpu)))
