"""Warm kernels: a zygote that imported the heavy modules once forks each kernel.

The zygote runs :mod:`graders.inside.zygote_child` inside the usual bubblewrap sandbox (rootful,
uid 65534, no network, read-only system) with two additions: ``CAP_SYS_ADMIN`` for one root
pre-step that unmounts bwrap's read-only covers of /proc/irq and /proc/bus (in a nested user
namespace those covers are locked, and a locked cover makes the kernel refuse the child's
fresh procfs), and a read-write bind of this run's *slots* folder, under which every
session's folder lies. Each child covers /tmp (and so every slot) before its own runtime
folder comes back; see the child module for the steps.

Per kernel (:meth:`Zygote.spawn`) the harness makes a socketpair whose end it keeps has
SO_PASSCRED, sends the other end to the zygote with the two folder paths, and learns the
child's host pid from the kernel's credentials on its "hello" (the child cannot forge it). It
then writes the child's uid/gid map (uid 1000 inside = a host uid of this child alone),
chowns its folders, moves it into the submission's cgroup and says "go". The child answers
"ready" from pid 1 of its pid namespace, whose host pid the harness tracks with a pidfd.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning.local_provisioner import LocalProvisioner

from ..errors import KernelHostLost, KernelStartError, SandboxError, UsageError
from ..sandbox.bwrap import (
    NOBODY,
    WORK_MOUNT,
    ZYGOTE_SCRIPT,
    Bubblewrap,
    Sandbox,
    SandboxSpec,
    chown_tree,
)
from ..sandbox.cgroups import Cgroup
from ..spec.assignment import Limits
from .providers import KernelProvider, SandboxedKernelManager
from .zygote_os import HostProcess, UidPool, message, recv_cred

CHILD_SCRIPT = Path(__file__).parent.parent / "inside" / "zygote_child.py"
KID = 1000  # the kernel's uid inside its own user namespace


@dataclass(frozen=True)
class ZygoteMounts:
    """What the zygote's bubblewrap line has on top of a kernel's."""

    slots: Path
    script: Path
    env: dict[str, str]


class Zygote:
    """One zygote process (per run and GPU): start, spawn kernels, stop."""

    def __init__(self, sandbox: Bubblewrap, spec: SandboxSpec, preload: tuple[str, ...]) -> None:
        self.sandbox = sandbox
        self.spec = spec
        self.preload = preload
        self.proc: subprocess.Popen[bytes] | None = None
        self.cgroup: Cgroup | None = None
        self.slots = Path(tempfile.mkdtemp(prefix="grader-zygote-", dir="/tmp"))
        os.chmod(self.slots, 0o711)  # a child passes through to its own folder, never lists
        self.ctl: socket.socket | None = None
        self._send = threading.Lock()
        self.spawned = 0  # kernels forked so far

    @property
    def log_path(self) -> Path:
        return self.spec.runtime / "zygote.log"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def start(self) -> None:
        limits = self.spec.limits
        # the zygote's own cgroup holds its pages (shared with the children) and the children
        # between fork and their move into their own cgroups
        self.cgroup = Cgroup.create(replace(limits, max_processes=1024))
        if self.cgroup is None:
            raise SandboxError("the zygote needs a memory+pids cgroup and none can be made here")
        ctl, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.ctl = ctl
        env = {
            "GRADER_ZYGOTE_FD": str(theirs.fileno()),
            "GRADER_ZYGOTE_PRELOAD": ",".join(self.preload),
        }
        argv = [self.sandbox.python.executable, ZYGOTE_SCRIPT]
        cmd = self.sandbox.wrap(
            argv, self.spec, self.cgroup, zygote=ZygoteMounts(self.slots, CHILD_SCRIPT, env)
        )
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=log,
                stderr=log, start_new_session=True,
            )  # fmt: skip
        theirs.close()
        msg = await asyncio.to_thread(self._first_message, limits.startup_timeout * 2)
        if msg.get("stage") != "ready":
            tail = self.log_path.read_text(errors="replace")[-1500:].strip()
            await self.stop()
            why = msg.get("error") or tail or "no answer"
            raise KernelStartError(f"the zygote did not start: {why}")
        failed = [f for f in msg.get("failed_imports", []) if isinstance(f, dict)]
        broken = [f for f in failed if f.get("module") == "ipykernel.kernelapp"]
        if broken:  # no kernel could start from it: say why once, now
            await self.stop()
            why = str(broken[0].get("error", ""))
            raise KernelStartError(
                f"the zygote cannot start kernels (import ipykernel.kernelapp: {why})"
            )

    def _first_message(self, timeout: float) -> dict[str, Any]:
        assert self.ctl is not None
        ready, _, _ = select.select([self.ctl], [], [], timeout)
        return message(self.ctl.recv(65536) if ready else b"")

    def spawn(self, spec: SandboxSpec, connection_file: str, cgroup: Cgroup, uid: int) -> int:
        """Fork a kernel for ``spec``'s folders; return the host pid of its pid 1. Blocking
        (a few tens of ms): run it in a thread. Everything before "go" is the harness's."""
        if self.ctl is None or not self.alive() or spec.runtime.parent.parent != self.slots:
            raise KernelHostLost("the zygote is not running")  # or it is a newer one
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with mine:
            mine.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            req = {
                "runtime": str(spec.runtime), "work": str(spec.work), "work_mount": WORK_MOUNT,
                "connection_file": connection_file, "tmp_bytes": spec.limits.tmp_mb << 20,
                "work_bytes": spec.limits.work_mb << 20,
            }  # fmt: skip
            with self._send:
                socket.send_fds(self.ctl, [json.dumps(req).encode()], [theirs.fileno()])
            theirs.close()
            mine.settimeout(spec.limits.startup_timeout)
            hello, c_pid = recv_cred(mine)
            if hello.get("stage") != "hello" or c_pid <= 0:
                raise KernelStartError(f"the zygote's child failed: {hello.get('error', hello)}")
            with open(f"/proc/{c_pid}/setgroups", "w") as f:
                f.write("deny")
            for kind in ("uid", "gid"):
                with open(f"/proc/{c_pid}/{kind}_map", "w") as f:
                    f.write(f"{KID} {uid} 1")
            for folder in (spec.runtime, spec.work):  # the kernel's own uid owns them
                chown_tree(folder, uid)
            for d in cgroup.dirs:
                (d / "cgroup.procs").write_text(str(c_pid))
            mine.send(b'{"go": true}')
            ready, g_pid = recv_cred(mine)
            if ready.get("stage") != "ready" or g_pid <= 0:
                raise KernelStartError(f"the zygote's child failed: {ready.get('error', ready)}")
            self.spawned += 1
            return g_pid

    async def stop(self) -> None:
        if self.ctl is not None:
            self.ctl.close()  # the zygote leaves when its socket closes
            self.ctl = None
        if self.proc is not None and self.proc.poll() is None:
            try:
                await asyncio.to_thread(self.proc.wait, 5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                await asyncio.to_thread(self.proc.wait)
        if self.cgroup is not None:
            await self.cgroup.remove()
            self.cgroup = None


class ZygoteProvisioner(LocalProvisioner):  # type: ignore[misc]
    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        km = self.parent
        assert isinstance(km, ZygoteKernelManager)
        pid = await km.launch_child()
        self.process = HostProcess(pid)  # type: ignore[assignment]
        self.pid = self.pgid = pid  # pid 1 called setsid(): its group is this kernel's
        return self.connection_info


class ZygoteKernelManager(SandboxedKernelManager):
    """A kernel forked from the zygote; nbclient and the session drive it like any other."""

    provider: ZygoteProvider
    zygote: Zygote | None = None
    uid: int | None = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return AsyncKernelManager.format_kernel_cmd(self, extra_arguments)  # type: ignore[no-any-return]

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        if self.provisioner is None:
            self.provisioner = ZygoteProvisioner(
                kernel_id=self.kernel_id or "zygote", kernel_spec=self.kernel_spec, parent=self
            )
        return await super()._async_pre_start_kernel(**kw)

    async def launch_child(self) -> int:
        if self._cgroup is None:
            raise KernelStartError("a forked kernel needs its own cgroup, and none was made")
        assert self.zygote is not None
        if self.uid is None:
            self.uid = self.provider.uids.take()
        return await asyncio.to_thread(
            self.zygote.spawn, self._spec, self.connection_file, self._cgroup, self.uid
        )


_LIVE: list[ZygoteProvider] = []


async def close_all() -> None:
    """Stop every zygote of this process (the end of a command)."""
    for provider in list(_LIVE):
        await provider.close()


class ZygoteProvider(KernelProvider):
    """One zygote per GPU index (or one for the CPU), started on first use and started again
    when it dies."""

    def __init__(
        self,
        sandbox: Bubblewrap,
        limits: Limits,
        data: Path | None,
        preload: tuple[str, ...],
        fallback: bool = False,
    ) -> None:
        self.sandbox = sandbox
        self.fallback = fallback  # auto: fresh kernels when the zygote does not start
        self.broken = ""  # why it did not
        self.limits = limits
        self.data = data
        self.preload = preload
        self.uids = UidPool()
        self._zygotes: dict[str | None, Zygote] = {}
        self._lock = asyncio.Lock()
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._root = Path(tempfile.mkdtemp(prefix="grader-zygote-run-", dir="/tmp"))
        os.chmod(self._root, 0o711)
        self.started = 0  # zygotes started in this run
        _LIVE.append(self)
        self._all_slots: list[Path] = []
        self._dead: list[Zygote] = []

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """A zygote does not travel, its recipe does: a Dask worker that receives the run's
        settings keeps a zygote of its own for them (:func:`worker_provider`)."""
        from .worker_zygotes import worker_provider

        return worker_provider, (self.sandbox, self.limits, self.data, self.preload)

    def session_root(self, gpu: str | None) -> str | None:
        return str(self._slots(gpu).slots)

    def _slots(self, gpu: str | None) -> Zygote:
        """The zygote new sessions of ``gpu`` belong to (made, not started, here): a new one
        when the last one died."""
        z = self._zygotes.get(gpu)
        if z is not None and z.proc is not None and not z.alive():
            self._dead.append(z)  # stopped at close; its sessions are graded again
            z = None
        if z is None:
            folder = Path(tempfile.mkdtemp(prefix="z-", dir=self._root))
            work, runtime = folder / "w", folder / "r"
            for d in (work, runtime):
                d.mkdir()
                os.chown(d, NOBODY, NOBODY)
            spec = SandboxSpec(work, runtime, self.data, self.limits, gpu)
            z = self._zygotes[gpu] = Zygote(self.sandbox, spec, self.preload)
            self._all_slots.append(z.slots)
        return z

    async def zygote(self, gpu: str | None) -> Zygote:
        loop = asyncio.get_running_loop()
        if self._lock_loop is not loop:  # a Dask worker runs each task in a loop of its own
            self._lock, self._lock_loop = asyncio.Lock(), loop
        async with self._lock:
            z = self._slots(gpu)
            if z.proc is None:
                await z.start()
                self.started += 1
            return z

    async def manager(
        self, sandbox: Sandbox, spec: SandboxSpec, cgroup: Cgroup | None
    ) -> SandboxedKernelManager:
        if not self.broken:
            try:
                z = await self.zygote(spec.gpu)
            except KernelHostLost:
                raise
            except (KernelStartError, SandboxError, OSError) as exc:
                if not self.fallback:
                    raise
                self.broken = str(exc)
        if self.broken:
            return await super().manager(sandbox, spec, cgroup)
        if spec.runtime.parent.parent != z.slots:  # a session of a zygote that has died
            raise KernelHostLost(self.describe())
        km = ZygoteKernelManager()
        km.configure(sandbox, spec, cgroup)
        km.provider = self
        km.zygote = z
        os.chmod(spec.runtime.parent, 0o711)  # the child reaches its folders by their path
        return km

    def host_lost(self, km: SandboxedKernelManager) -> bool:
        z = getattr(km, "zygote", None)
        return z is not None and not z.alive()

    def release(self, km: SandboxedKernelManager) -> None:
        uid = getattr(km, "uid", None)
        if uid is not None:
            self.uids.give(uid)
            km.uid = None  # type: ignore[attr-defined]

    async def close(self) -> None:
        for z in [*self._zygotes.values(), *self._dead]:
            await z.stop()
        self._zygotes.clear()
        for slots in self._all_slots:
            shutil.rmtree(slots, ignore_errors=True)
        shutil.rmtree(self._root, ignore_errors=True)
        if self in _LIVE:
            _LIVE.remove(self)

    describe_ok = "kernels forked from a zygote, one host uid each"

    def describe(self) -> str:
        if self.broken:
            return f"a fresh kernel per submission (the zygote did not start: {self.broken[:300]})"
        return self.describe_ok


def zygote_unavailable(sandbox: Sandbox) -> str:
    """Why forked kernels cannot work here ("" where they can)."""
    if not isinstance(sandbox, Bubblewrap):
        return f"the {sandbox.name!r} sandbox has no zygote"
    if not sandbox.rootful:
        return "the zygote needs bubblewrap as root (it writes each kernel's uid map)"
    if not hasattr(os, "pidfd_open"):
        return "this system has no pidfd_open"
    try:
        if int(Path("/proc/sys/user/max_user_namespaces").read_text()) <= 0:
            return "user namespaces are off (user.max_user_namespaces = 0)"
    except (OSError, ValueError):
        return "user namespaces are not available"
    probe = Cgroup.create(Limits(memory_mb=64, max_processes=8))
    if probe is None:
        return "no memory+pids cgroup can be made here"
    for d in reversed(probe.dirs):
        try:
            d.rmdir()
        except OSError:
            pass
    return ""


def choose_kernels(
    choice: str, sandbox: Sandbox, limits: Limits, data: Path | None, preload: tuple[str, ...]
) -> tuple[KernelProvider, str]:
    """The kernel provider for ``--kernels`` (auto | zygote | fresh), and a note saying why
    auto fell back to fresh kernels."""
    if choice == "fresh":
        return KernelProvider(), ""
    why = zygote_unavailable(sandbox)
    if why and choice == "zygote":
        raise UsageError(f"--kernels zygote cannot work here: {why}; use --kernels fresh")
    if why:
        return KernelProvider(), f"fresh kernels: {why}"
    assert isinstance(sandbox, Bubblewrap)
    return ZygoteProvider(sandbox, limits, data, preload, fallback=choice == "auto"), ""
