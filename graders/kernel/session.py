"""One sandboxed kernel for one submission: start, run a cell, run a probe, kill.

It starts an ipykernel from its :class:`~graders.kernel.providers.KernelProvider` (a fresh sandboxed
process, or a fork of a zygote) over ipc with message interrupts, installs the in-kernel
runtime, runs cells with nbclient (errors allowed, per-cell timeout, output capped), and runs
each probe on the channel that output cannot forge: the value comes back in the
``user_expressions`` of the probe's own ``execute_reply``. A disposable kernel is killed,
never shut down politely.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat
from jupyter_core.utils import ensure_async
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from ..errors import KernelHostLost, KernelStartError
from ..sandbox.bwrap import Sandbox, SandboxSpec, chown_tree
from ..sandbox.cgroups import Cgroup, no_cgroup_note
from ..sandbox.workdir import place_files, placing_code
from ..spec.assignment import Limits
from ..verdict.checks import Check
from ..verdict.model import Event, EventKind
from ..verdict.results import CellRecord, CellStatus, ProbeResult
from . import log as kernel_log
from .capture import CappedClient, cell_output, strip_ansi, truncate
from .probe import PROTOCOL_ERROR, run_probe
from .providers import FRESH, KernelProvider, SandboxedKernelManager, make_session_dir
from .setup import PRELUDE, gpu_cap_code, start_hint

SKIP_TAG = "skip-grading"


class KernelSession:
    """One sandboxed kernel for one submission; an async context manager that kills it."""

    def __init__(
        self,
        sandbox: Sandbox,
        limits: Limits,
        data: Path | None,
        preload: Sequence[str] = (),
        gpu: str | None = None,
        provider: KernelProvider = FRESH,
    ) -> None:
        self.sandbox = sandbox
        self.provider = provider
        self.gpu = gpu
        self.preload = tuple(m for m in preload if re.fullmatch(r"[A-Za-z_][\w.]*", m))
        self.limits = limits
        self.data = data
        self.output_bytes = 0
        self.peak_memory = 0  # bytes, from the cgroup (0 where there is none)
        self.events: list[Event] = []
        self._km: SandboxedKernelManager | None = None
        self._client: CappedClient | None = None
        self._cgroup: Cgroup | None = None
        self._killed_for: str | None = None
        self._dead = False
        self.start_seconds = 0.0  # how long the last start took
        self._dir = make_session_dir(provider, gpu)
        self.work = self._dir / "w"
        self.runtime = self._dir / "r"
        self.work.mkdir()
        self.runtime.mkdir()
        self._hand_over()

    async def __aenter__(self) -> KernelSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def started(self) -> bool:
        return self._km is not None

    async def adopt_files(self, files: dict[str, bytes]) -> None:
        """Hand a pre-started kernel its submission's files. On the host they are bound in
        again after a restart; inside the running kernel's private work dir the harness
        writes them (read-only) before any of the student's code runs."""
        self.place_files(files)
        if not files or not self.sandbox.work_mount:
            return  # no sandbox: the kernel already works in the host folder
        reply = await self._execute_quiet(placing_code(files), timeout=self.limits.startup_timeout)
        if reply.get("status") != "ok":
            raise RuntimeError(f"could not place the submission's files: {reply.get('evalue')}")

    def place_files(self, files: dict[str, bytes]) -> None:
        place_files(self.work, files)
        self._hand_over()

    def _hand_over(self) -> None:
        """The kernel's uid owns its work and runtime folders (when it differs from ours)."""
        if self.sandbox.uid is not None:
            for d in (self.work, self.runtime):
                chown_tree(d, self.sandbox.uid)

    def _make_cgroup(self) -> Cgroup | None:
        """The kernel's memory and pids cgroup; without one, say so once per session."""
        cgroup = Cgroup.create(self.limits)
        if cgroup is None and not any(e.kind is EventKind.NO_CGROUP for e in self.events):
            self.events.append(Event(EventKind.NO_CGROUP, no_cgroup_note(self.gpu is not None)))
        return cgroup

    async def start(self) -> None:
        """Start (or restart) the kernel and install the runtime."""
        t0 = time.monotonic()
        await self._stop()
        self._killed_for = None
        self._dead = False
        self.output_bytes = 0  # a restarted kernel gets a fresh output budget
        spec = SandboxSpec(self.work, self.runtime, self.data, self.limits, self.gpu)
        if self.sandbox.uses_cgroups():
            self._cgroup = self._make_cgroup()
        try:
            km = await self.provider.manager(self.sandbox, spec, self._cgroup)
        except KernelStartError as exc:  # the zygote did not start
            hint = start_hint(str(exc))
            raise KernelStartError(
                f"the kernel did not start ({exc})" + (f". {hint}" if hint else "")
            ) from exc
        self._km = km
        self._client = self._new_client(km)
        await self._launch(km, self._client, self.sandbox.env(spec))
        code = self._setup_code()
        if code:
            await self._execute_quiet(code, timeout=self.limits.startup_timeout)
        self.start_seconds = time.monotonic() - t0

    def _new_client(self, km: SandboxedKernelManager) -> CappedClient:
        client = CappedClient(
            nbformat.v4.new_notebook(),
            km=km,
            timeout=int(self.limits.cell_timeout),
            startup_timeout=int(self.limits.startup_timeout),
            allow_errors=True,
            interrupt_on_timeout=True,
            record_timing=False,
            skip_cells_with_tag=SKIP_TAG,
            iopub_timeout=5,
        )
        client.setup_caps(
            self.limits.max_output_kb * 1024, self.limits.max_total_output_mb << 20, self
        )
        return client

    async def _launch(
        self, km: SandboxedKernelManager, client: CappedClient, env: dict[str, str]
    ) -> None:
        """Start the kernel process, connect, run the prelude; say why when it fails."""
        # The kernel process's own stdout/stderr go to a log (capped by RLIMIT_FSIZE), read
        # only when it fails to start: what the student prints arrives over iopub (ipykernel
        # forwards fd-level output there too), so the log holds the sandbox's and Python's
        # start-up errors.
        try:
            with self.kernel_log.open("wb") as log:
                await km.start_kernel(env=env, cwd=str(self.work), stdout=log, stderr=log)
            await client.async_start_new_kernel_client()
            await self._execute_quiet(PRELUDE, timeout=self.limits.startup_timeout)
        except KernelHostLost:
            raise
        except Exception as exc:
            if self.provider.host_lost(km):
                raise KernelHostLost(self.provider.describe()) from exc
            why = str(exc) or type(exc).__name__
            tail = self.log_tail()
            hint = start_hint(tail)
            raise KernelStartError(
                f"the kernel did not start ({why})"
                + (f"; it said: {tail}" if tail else "")
                + (f". {hint}" if hint else "")
            ) from exc

    def _setup_code(self) -> str:
        """The assignment's heavy imports and the GPU cap, run on the start-up clock."""
        code = ""
        if self.preload:
            # The assignment's heavy modules are imported before the student's first cell, on
            # the start-up clock: a slow `import torch` never eats a cell's time limit.
            code = "".join(
                f"try:\n    import {m}\nexcept Exception:\n    pass\n" for m in self.preload
            )
        if self.gpu is not None and self.limits.gpu_memory_mb > 0:
            code += gpu_cap_code(self.limits.gpu_memory_mb)
        return code

    def kill(self, reason: str) -> None:
        """Kill the kernel and everything it started, now."""
        self._killed_for = self._killed_for or reason
        self._dead = True
        km = self._km
        if km is not None and km.has_kernel:
            proc = getattr(km.provisioner, "process", None)
            if proc is not None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    proc.kill()
                except ProcessLookupError:
                    pass
        if self._cgroup is not None:
            self._cgroup.kill_all()

    @property
    def kernel_log(self) -> Path:
        return self.runtime / "kernel.log"

    def log_tail(self) -> str:
        """The end of the kernel process's own output, on one line."""
        return kernel_log.tail(self.kernel_log)

    def death_reason(self) -> str:
        """Why the kernel is gone, as precisely as the machine can tell."""
        if self._killed_for:
            return self._killed_for
        if self._cgroup is not None and self._cgroup.oom_killed():
            return "memory limit"
        fatal = kernel_log.fatal_error(self.kernel_log)
        return f"kernel died ({fatal})" if fatal else "kernel died"

    async def _stop(self) -> None:
        if self._km is not None:
            self.kill(self._killed_for or "stopped")
            if self._client is not None and self._client.kc is not None:
                self._client.kc.stop_channels()
                self._client.kc = None
            try:
                await asyncio.wait_for(self._km._async_wait(), 5)
            except Exception:  # the process is already reaped, or refuses to be
                pass
            try:
                await ensure_async(self._km.cleanup_resources())
            except Exception:
                pass
            released, self._km = self._km, None
        else:
            released = None
        if self._cgroup is not None:
            peak = self._cgroup.peak_bytes()
            if peak is not None:
                self.peak_memory = max(self.peak_memory, peak)
            await self._cgroup.remove()
            self._cgroup = None
        if released is not None:  # its processes are gone with the cgroup: the uid is free
            self.provider.release(released)

    async def close(self) -> None:
        try:
            await self._stop()
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    async def _execute_quiet(self, code: str, timeout: float) -> dict[str, Any]:
        """Run harness code (not the student's); return the execute_reply content."""
        assert self._client is not None and self._client.kc is not None
        kc = self._client.kc
        msg_id = kc.execute(code, silent=True, store_history=False)
        return await self.reply(msg_id, timeout)

    async def reply(self, msg_id: str, timeout: float) -> dict[str, Any]:
        """The content of the execute_reply to ``msg_id``; TimeoutError, DeadKernelError."""
        assert self._client is not None and self._client.kc is not None
        kc = self._client.kc
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            try:
                msg = await kc.get_shell_msg(timeout=min(left, 1.0))  # type: ignore[attr-defined]
            except Exception:  # queue.Empty: check that the kernel still lives
                if not await self.alive():
                    raise DeadKernelError("kernel died") from None
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg["content"]  # type: ignore[no-any-return]

    def host_lost(self) -> bool:
        """The kernel died because the zygote it was forked from died."""
        return self._km is not None and self.provider.host_lost(self._km)

    async def alive(self) -> bool:
        return bool(not self._dead and self._km is not None and await self._km.is_alive())

    async def run_cell(self, index: int, source: str) -> CellRecord:
        assert self._client is not None
        cell = nbformat.v4.new_code_cell(source)
        cells = self._client.nb.cells  # nbclient stores the executed cell back by index
        while len(cells) <= index:
            cells.append(nbformat.v4.new_code_cell(""))
        start = time.monotonic()
        hard = self.limits.cell_timeout + 5  # nbclient interrupts; a C-level loop ignores it
        record = CellRecord(index, CellStatus.OK)
        self._client.replies.pop(index, None)
        try:
            task = asyncio.ensure_future(self._client.async_execute_cell(cell, index))
            # If we are cancelled (Ctrl-C) nbclient turns that into DeadKernelError inside the
            # task, which nobody awaits any more: mark it seen so that asyncio stays quiet.
            task.add_done_callback(_retrieve)
            await asyncio.wait_for(task, hard)
            # nbclient's interrupt after its timeout shows up as a KeyboardInterrupt error.
            if time.monotonic() - start >= self.limits.cell_timeout:
                record.status = CellStatus.TIMEOUT
        except (asyncio.TimeoutError, CellTimeoutError, DeadKernelError) as exc:
            # wait_for's cancellation surfaces from nbclient as DeadKernelError: tell the two
            # apart by the clock, and make sure a hung kernel really is gone.
            if isinstance(exc, DeadKernelError) and time.monotonic() - start < hard - 0.5:
                record.status = CellStatus.DIED
            else:
                record.status = CellStatus.TIMEOUT
                self.kill(f"ran past {self.limits.cell_timeout:g} s and ignored the interrupt")
        except Exception:  # a tampered kernel can send anything on its sockets
            record.status = CellStatus.DIED
            self.kill(PROTOCOL_ERROR)
        if (
            record.status in (CellStatus.OK, CellStatus.TIMEOUT)
            and self._dead
            and self._killed_for == "output limit"
        ):
            # The flood was cut while this cell ran; nbclient may still have called it done.
            record.status = CellStatus.DIED
        record.duration = time.monotonic() - start
        self._describe_cell(record, cell)
        return record

    def _describe_cell(self, record: CellRecord, cell: Any) -> None:
        """The cell's output and error, and its final status (an error, a timeout, a death)."""
        assert self._client is not None
        index = record.index
        record.output, err = cell_output(cell, self.limits.max_output_kb * 1024)
        # The reply's status, not the error outputs: a notebook that replaces IPython's
        # showtraceback shows no error output for a cell that failed.
        reply = self._client.replies.get(index, {})
        if record.status == CellStatus.OK and (err is not None or reply.get("status") == "error"):
            record.status = CellStatus.ERROR
            err = err or {
                "type": str(reply.get("ename", "Error"))[:100],
                "message": truncate(strip_ansi(str(reply.get("evalue", ""))), 2000),
                "traceback": "",
            }
        if record.status == CellStatus.TIMEOUT and (
            err is None or err["type"] == "KeyboardInterrupt"
        ):
            err = {
                "type": "Timeout",
                "message": f"the cell ran past {self.limits.cell_timeout:g} s and was stopped",
                "traceback": (err or {}).get("traceback", ""),
            }
        if record.status == CellStatus.DIED:
            err = {"type": "KernelDied", "message": self.death_reason()}
        record.error = err

    async def probe(self, check: Check, ctx: dict[str, Any], timeout: float) -> ProbeResult:
        """Run one check's probe in this kernel (see :mod:`graders.kernel.probe`)."""
        return await run_probe(self, check, ctx, timeout)

    def kernel_client(self) -> Any:
        """The connected kernel client (jupyter_client's), while the kernel runs."""
        assert self._client is not None and self._client.kc is not None
        return self._client.kc

    async def interrupt(self) -> None:
        assert self._km is not None
        await self._km.interrupt_kernel()


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
