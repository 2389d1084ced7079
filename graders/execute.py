"""Execute a submission in a sandboxed kernel and run the checks' probes in it.

One :class:`KernelSession` per submission: it starts an ipykernel inside the sandbox (ipc
transport, message interrupts), runs the prelude that installs the in-kernel runtime, runs the
notebook's cells with nbclient (errors allowed, per-cell timeout, ``skip-grading`` cells
skipped, output capped), then one probe per check on the channel that output cannot forge:
the probe's value comes back in the ``user_expressions`` of its own ``execute_reply`` (the
shell channel), never from anything printed or written. A kernel that dies or hangs is killed,
restarted and the cells that defined the names are run again; a disposable kernel is killed,
never shut down politely.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from .assignment import Limits
from .checks import Check
from .codec import CodecError, decode
from .errors import KernelHostLost, KernelStartError
from .providers import FRESH, KernelProvider, SandboxedKernelManager, make_session_dir
from .sandbox import Cgroup, Sandbox, SandboxSpec

SKIP_TAG = "skip-grading"
PAYLOAD_MIME = "application/vnd.grader.probe+json"
RUNTIME_SOURCE = (Path(__file__).parent / "runtime.py").read_text()
PRELUDE = (
    "import types as _grader_types\n"
    "_grader_mod = _grader_types.ModuleType('grader_runtime')\n"
    f"exec(compile({RUNTIME_SOURCE!r}, '<grader-runtime>', 'exec'), _grader_mod.__dict__)\n"
    "_grader_mod.install(globals())\n"
    "del _grader_types, _grader_mod\n"
)
CUT_NOTE = "\n[output truncated by the grader]\n"
PROTOCOL_ERROR = "the kernel sent malformed messages (was the kernel tampered with?)"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def gpu_cap_code(mb: int) -> str:
    """Kernel code capping torch's CUDA allocator at ``mb`` MB of the (one) visible GPU."""
    return (
        "try:\n    import torch as _t\n    if _t.cuda.is_available():\n"
        f"        _total = _t.cuda.get_device_properties(0).total_memory\n"
        f"        _t.cuda.set_per_process_memory_fraction(min(1.0, {mb} * 2**20 / _total), 0)\n"
        "    del _t\nexcept Exception:\n    pass\n"
    )


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [truncated: {len(text) - limit:,} more characters]"


def start_hint(log: str) -> str:
    """What to do about the usual reasons a sandboxed kernel cannot start."""
    if "ipykernel_launcher" in log or "No module named" in log:
        return (
            "The kernel's Python lacks a package: install the grader and its dependencies in "
            "the environment that runs it (a venv, or $PYTHONPATH folders, which kernels see "
            "read-only)"
        )
    userns = ("namespace", "uid map", "Operation not permitted")
    if "bwrap" in log and any(words in log for words in userns):
        return (
            "bubblewrap may not create namespaces here: unprivileged user namespaces are off "
            "(Ubuntu 24.04: sysctl kernel.apparmor_restrict_unprivileged_userns=1, or "
            "user.max_user_namespaces=0). Grade as root, allow them, or use --sandbox none for "
            "trusted code only"
        )
    return ""


@dataclass
class CellRecord:
    index: int
    status: str  # ok | error | timeout | died | skipped
    error: dict[str, Any] | None = None
    output: str = ""
    duration: float = 0.0


@dataclass
class ProbeResult:
    kind: str  # value | missing | not_implemented | error | timeout | died | invalid | skipped
    value: Any = None
    error: dict[str, Any] | None = None
    output: str = ""
    duration: float = 0.0
    note: str = ""
    # A probe whose cases ran one by one (ctx.case): ``value`` maps the cases that returned to
    # their values; each case that raised is here instead (kind error | not_implemented).
    failed_cases: dict[str, ProbeResult] = field(default_factory=dict)

    def without_failed_cases(self) -> ProbeResult:
        """For the reference, which must return on every case: the first failed case's error
        stands for the whole check."""
        if not self.failed_cases:
            return self
        name, first = next(iter(self.failed_cases.items()))
        return ProbeResult(first.kind, error=first.error, note=f"case {name!r}")


@dataclass
class Execution:
    cells: list[CellRecord] = field(default_factory=list)
    probes: dict[str, ProbeResult] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)  # kernel deaths, restarts, limits hit
    timings: dict[str, float] = field(default_factory=dict)
    timed_out: bool = False


@dataclass(frozen=True)
class Source:
    """What runs in the kernel: code cells of a notebook, or a module as one cell."""

    cells: tuple[str, ...]
    skipped: tuple[int, ...]
    files: dict[str, bytes]  # copied into the work dir

    @classmethod
    def from_notebook(cls, nb: NotebookNode, files: dict[str, bytes]) -> Source:
        cells, skipped = [], []
        for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
            if SKIP_TAG in cell.get("metadata", {}).get("tags", []):
                skipped.append(i)
                cells.append("")
            else:
                cells.append(cell.source)
        return cls(tuple(cells), tuple(skipped), files)

    @classmethod
    def from_module(cls, name: str, data: bytes) -> Source:
        run = (
            "import runpy as _grader_runpy\n"
            f"globals().update(_grader_runpy.run_path({name!r}, run_name='submission'))\n"
            "del _grader_runpy\n"
        )
        return cls((run,), (), {name: data})


class _CappedClient(NotebookClient):  # type: ignore[misc]
    """nbclient keeps every byte of output (500 MB in RAM for a 500 MB print); we don't."""

    def setup_caps(self, per_cell: int, total: int, session: KernelSession) -> None:
        self._per_cell = per_cell
        self._total = total
        self._cell_bytes: dict[int, int] = {}
        self._session = session
        self.replies: dict[int, dict[str, Any]] = {}  # cell index -> execute_reply content
        self.on_cell_executed = self._keep_reply

    def _keep_reply(self, cell: NotebookNode, cell_index: int, execute_reply: Any) -> None:
        content = execute_reply.get("content") if isinstance(execute_reply, dict) else None
        self.replies[cell_index] = content if isinstance(content, dict) else {}

    async def _async_check_alive(self) -> None:
        # nbclient's liveness poller can outlive a cell we cancelled; once we have dropped
        # the client it must see a dead kernel, not trip over a missing one.
        if self.kc is None:
            raise DeadKernelError("Kernel died")
        await super()._async_check_alive()

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        size = _msg_size(msg)
        self._session.output_bytes += size
        flood = self._session.output_bytes > self._total
        used = self._cell_bytes.get(cell_index, 0)
        self._cell_bytes[cell_index] = used + size
        if used + size > self._per_cell:
            if used <= self._per_cell:
                # Keep the head of the message that crosses the cap (the first 512 KB of one
                # 300 MB print), then say that the rest was cut.
                head = _head_of_stream(msg, self._per_cell - used - len(CUT_NOTE))
                if head is not None:
                    super().output(outs, head, display_id, cell_index)
                outs.append(nbformat.v4.new_output("stream", name="stderr", text=CUT_NOTE))
        elif not flood:
            return super().output(outs, msg, display_id, cell_index)  # type: ignore[no-any-return]
        if flood:
            self._session.kill("output limit")
        return None


def _head_of_stream(msg: dict[str, Any], chars: int) -> dict[str, Any] | None:
    """A copy of a stream message holding only its first ``chars`` characters."""
    content = msg.get("content", {})
    if msg.get("msg_type") != "stream" or chars <= 0 or not isinstance(content.get("text"), str):
        return None
    return {**msg, "content": {**content, "text": content["text"][:chars]}}


def _msg_size(msg: dict[str, Any]) -> int:
    c = msg.get("content", {})
    n = len(c.get("text", "") or "")
    for v in (c.get("data") or {}).values():
        n += len(v) if isinstance(v, str) else len(json.dumps(v))
    n += sum(len(t) for t in c.get("traceback", []) or [])
    return n


def _cell_output(cell: NotebookNode, limit: int) -> tuple[str, dict[str, Any] | None]:
    text, error = [], None
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            text.append(out.text)
        elif out.output_type == "error":
            error = {
                "type": out.ename,
                "message": truncate(strip_ansi(out.evalue), 2000),
                "traceback": truncate(strip_ansi("\n".join(out.traceback)), 8000),
            }
    return truncate("".join(text), limit), error


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
        self.events: list[str] = []
        self._km: SandboxedKernelManager | None = None
        self._client: _CappedClient | None = None
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
        payload = json.dumps({n: base64.b64encode(d).decode() for n, d in files.items()})
        code = (
            "def __grader_place(files):\n    import base64, os\n"
            "    for name, data in files.items():\n"
            "        os.makedirs(os.path.dirname(name) or '.', exist_ok=True)\n"
            "        with open(name, 'wb') as f:\n            f.write(base64.b64decode(data))\n"
            "        os.chmod(name, 0o444)\n"
            f"__grader_place({payload})\ndel __grader_place\n"
            "import importlib as _il\n_il.invalidate_caches()\ndel _il\n"  # new modules
        )
        reply = await self._execute_quiet(code, timeout=self.limits.startup_timeout)
        if reply.get("status") != "ok":
            raise RuntimeError(f"could not place the submission's files: {reply.get('evalue')}")

    def place_files(self, files: dict[str, bytes]) -> None:
        for name, data in files.items():
            target = self.work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        self._hand_over()

    def _hand_over(self) -> None:
        """The kernel's uid owns its work and runtime folders (when it differs from ours)."""
        if self.sandbox.uid is not None:
            for root, dirs, names in os.walk(self._dir):
                for n in [*dirs, *names]:
                    os.chown(os.path.join(root, n), self.sandbox.uid, self.sandbox.uid)
            for d in (self.work, self.runtime):
                os.chown(d, self.sandbox.uid, self.sandbox.uid)

    async def start(self) -> None:
        """Start (or restart) the kernel and install the runtime."""
        t0 = time.monotonic()
        await self._stop()
        self._killed_for = None
        self._dead = False
        self.output_bytes = 0  # a restarted kernel gets a fresh output budget
        spec = SandboxSpec(self.work, self.runtime, self.data, self.limits, self.gpu)
        if self.sandbox.uses_cgroups():
            self._cgroup = Cgroup.create(self.limits)
            if self._cgroup is None and "no cgroup" not in " ".join(self.events):
                memory = (
                    "memory is not limited (RLIMIT_AS cannot be used with CUDA)"
                    if self.gpu is not None
                    else "memory is limited only roughly (RLIMIT_AS)"
                )
                self.events.append(
                    f"no cgroup available: {memory} and the number of processes not at all"
                )
        try:
            km = await self.provider.manager(self.sandbox, spec, self._cgroup)
        except KernelStartError as exc:  # the zygote did not start
            hint = start_hint(str(exc))
            raise KernelStartError(
                f"the kernel did not start ({exc})" + (f". {hint}" if hint else "")
            ) from exc
        self._km = km
        env = self.sandbox.env(spec)
        client = _CappedClient(
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
        self._client = client
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
        code = ""
        if self.preload:
            # The assignment's heavy modules are imported before the student's first cell, on
            # the start-up clock: a slow `import torch` never eats a cell's time limit.
            code = "".join(
                f"try:\n    import {m}\nexcept Exception:\n    pass\n" for m in self.preload
            )
        if self.gpu is not None and self.limits.gpu_memory_mb > 0:
            code += gpu_cap_code(self.limits.gpu_memory_mb)
        if code:
            await self._execute_quiet(code, timeout=self.limits.startup_timeout)
        self.start_seconds = time.monotonic() - t0

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

    def _log_end(self) -> str:
        """The last 64 KB of what the kernel process wrote outside iopub."""
        try:
            with self.kernel_log.open("rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - 64 * 1024))
                return strip_ansi(f.read().decode(errors="replace"))
        except OSError:
            return ""

    def log_tail(self, lines: int = 6, chars: int = 1500) -> str:
        """The end of the kernel process's own output, on one line."""
        kept = [line.strip() for line in self._log_end().splitlines() if line.strip()]
        return truncate(" | ".join(kept[-lines:]), chars)

    def death_reason(self) -> str:
        """Why the kernel is gone, as precisely as the machine can tell."""
        if self._killed_for:
            return self._killed_for
        if self._cgroup is not None and self._cgroup.oom_killed():
            return "memory limit"
        # the interpreter's own last words (faulthandler, enabled by the runtime)
        fatal = re.findall(r"^Fatal Python error: (.{1,200})$", self._log_end(), re.M)
        return f"kernel died ({fatal[-1].strip()})" if fatal else "kernel died"

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
        return await self._reply(msg_id, timeout)

    async def _reply(self, msg_id: str, timeout: float) -> dict[str, Any]:
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
                if not await self._alive():
                    raise DeadKernelError("kernel died") from None
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg["content"]  # type: ignore[no-any-return]

    def host_lost(self) -> bool:
        """The kernel died because the zygote it was forked from died."""
        return self._km is not None and self.provider.host_lost(self._km)

    async def _alive(self) -> bool:
        return bool(not self._dead and self._km is not None and await self._km.is_alive())

    async def run_cell(self, index: int, source: str) -> CellRecord:
        assert self._client is not None
        cell = nbformat.v4.new_code_cell(source)
        cells = self._client.nb.cells  # nbclient stores the executed cell back by index
        while len(cells) <= index:
            cells.append(nbformat.v4.new_code_cell(""))
        start = time.monotonic()
        hard = self.limits.cell_timeout + 5  # nbclient interrupts; a C-level loop ignores it
        record = CellRecord(index, "ok")
        self._client.replies.pop(index, None)
        try:
            task = asyncio.ensure_future(self._client.async_execute_cell(cell, index))
            # If we are cancelled (Ctrl-C) nbclient turns that into DeadKernelError inside the
            # task, which nobody awaits any more: mark it seen so that asyncio stays quiet.
            task.add_done_callback(_retrieve)
            await asyncio.wait_for(task, hard)
            # nbclient's interrupt after its timeout shows up as a KeyboardInterrupt error.
            if time.monotonic() - start >= self.limits.cell_timeout:
                record.status = "timeout"
        except (asyncio.TimeoutError, CellTimeoutError, DeadKernelError) as exc:
            # wait_for's cancellation surfaces from nbclient as DeadKernelError: tell the two
            # apart by the clock, and make sure a hung kernel really is gone.
            if isinstance(exc, DeadKernelError) and time.monotonic() - start < hard - 0.5:
                record.status = "died"
            else:
                record.status = "timeout"
                self.kill(f"ran past {self.limits.cell_timeout:g} s and ignored the interrupt")
        except Exception:  # a tampered kernel can send anything on its sockets
            record.status = "died"
            self.kill(PROTOCOL_ERROR)
        if record.status in ("ok", "timeout") and self._dead and self._killed_for == "output limit":
            # The flood was cut while this cell ran; nbclient may still have called it done.
            record.status = "died"
        record.duration = time.monotonic() - start
        record.output, err = _cell_output(cell, self.limits.max_output_kb * 1024)
        # The reply's status, not the error outputs: a notebook that replaces IPython's
        # showtraceback shows no error output for a cell that failed.
        reply = self._client.replies.get(index, {})
        if record.status == "ok" and (err is not None or reply.get("status") == "error"):
            record.status = "error"
            err = err or {
                "type": str(reply.get("ename", "Error"))[:100],
                "message": truncate(strip_ansi(str(reply.get("evalue", ""))), 2000),
                "traceback": "",
            }
        if record.status == "timeout" and (err is None or err["type"] == "KeyboardInterrupt"):
            err = {
                "type": "Timeout",
                "message": f"the cell ran past {self.limits.cell_timeout:g} s and was stopped",
                "traceback": (err or {}).get("traceback", ""),
            }
        if record.status == "died":
            err = {"type": "KernelDied", "message": self.death_reason()}
        record.error = err
        return record

    async def probe(self, check: Check, ctx: dict[str, Any], timeout: float) -> ProbeResult:
        assert self._client is not None and self._client.kc is not None
        kc = self._client.kc
        code = (
            "if '__grader_rt__' not in globals():\n"
            f"    exec({PRELUDE!r})\n"
            f"__grader_rt__.run({check.source!r}, {check.func_name!r}, {json.dumps(ctx)!r})\n"
        )
        start = time.monotonic()
        msg_id = kc.execute(
            code,
            silent=False,
            store_history=False,
            user_expressions={"r": "__grader_rt__.take()"},
            stop_on_error=False,
        )
        output = _OutputCollector(msg_id, self.limits.max_output_kb * 1024)
        reader = asyncio.ensure_future(output.read(kc))
        try:
            try:
                content = await self._reply(msg_id, timeout)
            except TimeoutError:
                await self._km.interrupt_kernel()  # type: ignore[union-attr]
                try:
                    await self._reply(msg_id, 5)
                except (TimeoutError, DeadKernelError):
                    self.kill(f"check ran past {timeout:g} s and ignored the interrupt")
                return ProbeResult(
                    "timeout", output=output.text(), duration=time.monotonic() - start,
                    note=f"ran past {timeout:g} s",
                )  # fmt: skip
            except DeadKernelError:
                return ProbeResult(
                    "died", output=output.text(), duration=time.monotonic() - start,
                    note=self.death_reason(),
                )  # fmt: skip
            except Exception:  # malformed messages from a tampered kernel
                self.kill(PROTOCOL_ERROR)
                return ProbeResult("died", output=output.text(), note=PROTOCOL_ERROR)
            await asyncio.sleep(0)  # let the reader take what has arrived
        finally:
            try:
                await asyncio.wait_for(asyncio.shield(reader), 0.5)
            except (asyncio.TimeoutError, Exception):
                pass
            reader.cancel()
        duration = time.monotonic() - start
        result = _decode_reply(content)
        result.output = output.text()
        result.duration = duration
        return result


class _OutputCollector:
    """The student's prints during one probe, kept for feedback (capped), never trusted."""

    def __init__(self, msg_id: str, limit: int) -> None:
        self.msg_id = msg_id
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0

    async def read(self, kc: Any) -> None:
        while True:
            try:
                msg = await kc.get_iopub_msg(timeout=1)
            except Exception:
                continue
            if msg.get("parent_header", {}).get("msg_id") != self.msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and self.size < self.limit:
                self.parts.append(content.get("text", "")[: self.limit - self.size])
                self.size += len(self.parts[-1])
            elif kind == "status" and content.get("execution_state") == "idle":
                return

    def text(self) -> str:
        return truncate("".join(self.parts), self.limit)


INVALID = "the check's result was not valid data"


def _decode_reply(content: dict[str, Any]) -> ProbeResult:
    expr = (content.get("user_expressions") or {}).get("r") or {}
    payload = (expr.get("data") or {}).get(PAYLOAD_MIME) if expr.get("status") == "ok" else None
    if not isinstance(payload, str) or not payload:
        return ProbeResult(
            "invalid", note="the check produced no result (was the kernel tampered with?)"
        )
    try:
        raw = json.loads(payload)
    except ValueError:
        return ProbeResult("invalid", note=INVALID)
    if isinstance(raw, dict) and raw.get("kind") == "cases":
        return _decode_cases(raw.get("cases"))
    return _decode_result(raw)


def _decode_result(raw: Any) -> ProbeResult:
    """One result the runtime sent: the probe's, or one case's."""
    kind = raw.get("kind") if isinstance(raw, dict) else None
    if kind == "value":
        try:
            value = decode(json.dumps(raw.get("value")))
        except CodecError as exc:
            return ProbeResult("invalid", note=f"the result could not be read: {exc}")
        return ProbeResult("value", value=value)
    if kind == "missing":
        return ProbeResult("missing", note=str(raw.get("name", ""))[:100])
    if kind in ("error", "not_implemented"):
        return ProbeResult(kind, error=_clean_error(raw.get("error")))
    if kind == "interrupted":
        return ProbeResult("timeout")
    return ProbeResult("invalid", note=INVALID)


def _decode_cases(cases: Any) -> ProbeResult:
    """A probe that ran its cases one by one: the values of those that returned, and the
    result of each that did not (it raised, or sent something unreadable). Every case raising
    NotImplementedError is a stub left as is."""
    if not isinstance(cases, dict) or not cases:
        return ProbeResult("invalid", note=INVALID)
    values: dict[str, Any] = {}
    failed: dict[str, ProbeResult] = {}
    for name, case in cases.items():
        r = _decode_result(case)
        if r.kind == "value":
            values[str(name)] = r.value
        elif r.kind in ("error", "not_implemented", "invalid"):
            failed[str(name)] = r
        else:  # the runtime sends a case only as value, error or not_implemented
            failed[str(name)] = ProbeResult("invalid", note=INVALID)
    if not values and all(f.kind == "not_implemented" for f in failed.values()):
        return ProbeResult("not_implemented", error=next(iter(failed.values())).error)
    return ProbeResult("value", value=values, failed_cases=failed)


def _clean_error(err: Any) -> dict[str, Any]:
    """The kernel's description of an exception, reduced to strings we can render safely."""
    if not isinstance(err, dict):
        return {"type": "Error", "message": "", "frames": []}
    frames = []
    for f in err.get("frames", [])[:20] if isinstance(err.get("frames"), list) else []:
        if isinstance(f, dict):
            frames.append(
                {
                    "where": str(f.get("where", ""))[:200],
                    "lineno": f.get("lineno") if isinstance(f.get("lineno"), int) else None,
                    "name": str(f.get("name", ""))[:200],
                    "line": str(f.get("line", ""))[:300],
                }
            )
    return {
        "type": str(err.get("type", "Error"))[:100],
        "message": str(err.get("message", ""))[:2000],
        "frames": frames,
    }


async def execute_submission(
    source: Source,
    checks: Sequence[Check],
    sandbox: Sandbox,
    limits: Limits,
    *,
    seed_for: dict[str, int],
    device: str,
    data: Path | None,
    preload: Sequence[str] = (),
    gpu: str | None = None,
    gate: Callable[[Check, ProbeResult], bool] | None = None,
    session: KernelSession | None = None,
    provider: KernelProvider = FRESH,
) -> Execution:
    """Run the cells, then the probes; never raises for anything the submission does.
    ``gate`` says whether a probe's result passes its check: a check whose prerequisites
    (``depends``) did not pass is skipped. Without a gate (the reference) every check runs.
    ``session``: a kernel started ahead of time (fresh: no code but the harness's has run in
    it); it is given this submission's files, used, and killed like any other.
    Raises :class:`KernelHostLost` when the zygote that forked the kernel died (the
    submission did not cause it; the caller grades it again)."""
    ex = Execution()
    t0 = time.monotonic()
    deadline = t0 + limits.submission_timeout
    restarts = 0
    ok_cells: list[int] = []

    if session is None:
        session = KernelSession(sandbox, limits, data, preload, gpu, provider)
    async with session as ks:

        async def restart(reason: str) -> bool:
            nonlocal restarts
            if restarts >= limits.max_restarts or time.monotonic() > deadline:
                ex.events.append(f"{reason}; not restarted (restart limit reached)")
                return False
            restarts += 1
            ex.events.append(f"{reason}; kernel restarted and cells {_ranges(ok_cells)} re-run")
            await ks.start()
            for i in ok_cells:
                await ks.run_cell(i, source.cells[i])
            return True

        if ks.started:  # started ahead, while another submission was graded
            ex.timings["kernel_start_ahead"] = ks.start_seconds
            await ks.adopt_files(source.files)
        else:
            ks.place_files(source.files)
            await ks.start()
        ex.timings["kernel_start"] = time.monotonic() - t0
        alive = True
        for i, code in enumerate(source.cells):
            if i in source.skipped or not code.strip():
                ex.cells.append(CellRecord(i, "skipped"))
                continue
            if time.monotonic() > deadline:
                ex.timed_out = True
                ex.cells.append(CellRecord(i, "skipped"))
                continue
            if not alive:
                ex.cells.append(CellRecord(i, "skipped"))
                continue
            rec = await ks.run_cell(i, code)
            ex.cells.append(rec)
            if rec.status in ("ok", "error"):
                ok_cells.append(i)
            elif rec.status in ("died", "timeout") and not await ks._alive():
                if ks.host_lost():
                    raise KernelHostLost(ks.provider.describe())
                alive = await restart(f"cell {i + 1}: {ks.death_reason()}")
        t1 = time.monotonic()
        ex.timings["cells"] = t1 - t0 - ex.timings["kernel_start"]

        crashed: set[str] = set()  # stubs whose check killed the kernel: not run again
        passed: dict[str, bool] = {}
        for chk in checks:
            failed_deps = [d for d in chk.depends if not passed.get(d, False)]
            if gate is not None and failed_deps:
                ex.probes[chk.name] = ProbeResult(
                    "skipped", note="it needs " + " and ".join(f"“{d}”" for d in failed_deps)
                    + " to pass first",
                )  # fmt: skip
                continue
            if chk.stub in crashed:
                ex.probes[chk.name] = ProbeResult(
                    "died",
                    note=f"an earlier check of `{chk.stub}` crashed the kernel; not run again",
                )
                continue
            if not alive:
                ex.probes[chk.name] = ProbeResult(
                    "skipped", note="the kernel could not be restarted"
                )
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                ex.timed_out = True
                ex.probes[chk.name] = ProbeResult("skipped", note="the submission ran out of time")
                continue
            timeout = min(chk.timeout or limits.check_timeout, left)
            ctx = {"seed": seed_for[chk.name], "device": device}
            res = await ks.probe(chk, ctx, timeout)
            ex.probes[chk.name] = res
            if gate is not None:
                passed[chk.name] = gate(chk, res)
            if res.kind == "died":
                crashed.add(chk.stub)
            if res.kind in ("died", "timeout") and not await ks._alive():
                if ks.host_lost():
                    raise KernelHostLost(ks.provider.describe())
                alive = await restart(f"check {chk.name!r}: {res.note or ks.death_reason()}")
        ex.timings["checks"] = time.monotonic() - t1
        ex.events.extend(e for e in ks.events if e not in ex.events)
    ex.timings["total"] = time.monotonic() - t0
    if ks.peak_memory:
        ex.timings["peak_memory_mb"] = ks.peak_memory / 2**20
    return ex


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _ranges(idx: list[int]) -> str:
    return ", ".join(str(i + 1) for i in idx) if idx else "(none)"
