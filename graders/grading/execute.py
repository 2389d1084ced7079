"""Execute a submission: its cells, then one probe per check, in one kernel session.

A kernel that dies or hangs is killed and restarted (up to ``max_restarts``) and the cells
that ran are run again; a check whose prerequisites did not pass is skipped; everything is
bounded by the submission's deadline. See :mod:`graders.kernel.session` for the kernel itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbformat import NotebookNode

from ..errors import KernelHostLost
from ..intake import rules as intake
from ..kernel.providers import FRESH, KernelProvider
from ..kernel.session import SKIP_TAG, KernelSession
from ..kernel.setup import PRELUDE, RUNTIME_SOURCE, gpu_cap_code
from ..sandbox.bwrap import Sandbox
from ..spec.assignment import Limits
from ..verdict.checks import Check
from ..verdict.model import Event, EventKind
from ..verdict.results import CellRecord, CellStatus, ProbeKind, ProbeResult, needs_first
from . import clock

__all__ = [
    "PRELUDE", "RUNTIME_SOURCE", "CellRecord", "Execution", "KernelSession", "ProbeResult",
    "Source", "execute_submission", "gpu_cap_code",
]  # fmt: skip


@dataclass
class Execution:
    cells: list[CellRecord] = field(default_factory=list)
    probes: dict[str, ProbeResult] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)  # kernel deaths, restarts, limits hit
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

    def with_files(self, files: dict[str, bytes]) -> Source:
        """The same cells with ``files`` added to the work dir (they win over the
        submission's own files of the same name: an assignment's data is not the student's
        to replace)."""
        if not files:
            return self
        clash = set(intake.clashes(self.files, files))  # a file named data where data/ goes
        mine = {n: d for n, d in self.files.items() if n not in clash}
        return Source(self.cells, self.skipped, {**mine, **files})

    @classmethod
    def from_module(cls, name: str, data: bytes) -> Source:
        """A module run in the kernel's own namespace, as a notebook's cells are: its
        functions read that namespace (a test that deletes a name and puts it back, as
        nbgrader's "uses squares" does, sees what a notebook would), under the name
        ``submission`` (its ``if __name__ == "__main__":`` block does not run)."""
        run = (
            "_grader_g = globals()\n"
            "_grader_g['__name__'], _grader_g['__file__'] = 'submission', " + repr(name) + "\n"
            "try:\n"
            "    with open(" + repr(name) + ", 'rb') as _grader_f:\n"
            "        _grader_code = compile(_grader_f.read(), " + repr(name) + ", 'exec')\n"
            "    del _grader_f\n"
            "    exec(_grader_code, _grader_g)\n"
            "finally:\n"
            "    _grader_g['__name__'] = '__main__'\n"
            "    _grader_g.pop('_grader_code', None)\n"
            "    del _grader_g\n"
        )
        return cls((run,), (), {name: data})


def _context(check: Check, seed: int, device: str) -> dict[str, Any]:
    """What a probe's ``ctx`` is made from in the kernel: its seed, its device, and the
    hidden_data/ files it declared."""
    return {"seed": seed, "device": device, "params": {"files": dict(check.files)}}


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
    if session is None:
        session = KernelSession(sandbox, limits, data, preload, gpu, provider)
    run = _Run(source, limits, session)
    async with session:
        await run.start()
        await run.cells()
        await run.probes(checks, gate, lambda c: _context(c, seed_for[c.name], device))
        run.ex.events.extend(e for e in session.events if e not in run.ex.events)
    run.ex.timings["total"] = clock.now() - run.t0
    if session.peak_memory:
        run.ex.timings["peak_memory_mb"] = session.peak_memory / 2**20
    return run.ex


class _Run:
    """One submission's pass through its kernel: deadline, restarts, cells that ran."""

    def __init__(self, source: Source, limits: Limits, ks: KernelSession) -> None:
        self.source = source
        self.limits = limits
        self.ks = ks
        self.ex = Execution()
        self.t0 = clock.now()
        self.deadline = self.t0 + limits.submission_timeout
        self.restarts = 0
        self.ok_cells: list[int] = []  # cells that ran (ok or error): run again on a restart
        self.alive = True

    async def start(self) -> None:
        ks, files = self.ks, self.source.files
        if ks.started:  # started ahead, while another submission was graded
            self.ex.timings["kernel_start_ahead"] = ks.start_seconds
            await ks.adopt_files(files)
        else:
            ks.place_files(files)
            await ks.start()
        self.ex.timings["kernel_start"] = clock.now() - self.t0

    async def recover(self, where: str, note: str = "") -> None:
        """After a death or a hard timeout: restart and re-run the cells that ran, if the
        limits allow; a zygote's death is not the submission's and is raised."""
        if await self.ks.alive():
            return
        if self.ks.host_lost():
            raise KernelHostLost(self.ks.provider.describe())
        reason = f"{where}: {note or self.ks.death_reason()}"
        if self.restarts >= self.limits.max_restarts or clock.now() > self.deadline:
            message = f"{reason}; not restarted (restart limit reached)"
            self.ex.events.append(Event(EventKind.KERNEL_NOT_RESTARTED, message))
            self.alive = False
            return
        self.restarts += 1
        cells = _ranges(self.ok_cells)
        message = f"{reason}; kernel restarted and cells {cells} re-run"
        self.ex.events.append(Event(EventKind.KERNEL_RESTARTED, message))
        await self.ks.start()
        for i in self.ok_cells:
            await self.ks.run_cell(i, self.source.cells[i])

    async def cells(self) -> None:
        t = clock.now()
        for i, code in enumerate(self.source.cells):
            if i in self.source.skipped or not code.strip() or not self.alive:
                self.ex.cells.append(CellRecord(i, CellStatus.SKIPPED))
                continue
            if clock.now() > self.deadline:
                self.ex.timed_out = True
                self.ex.cells.append(CellRecord(i, CellStatus.SKIPPED))
                continue
            rec = await self.ks.run_cell(i, code)
            self.ex.cells.append(rec)
            if rec.status in (CellStatus.OK, CellStatus.ERROR):
                self.ok_cells.append(i)
            elif rec.status in (CellStatus.DIED, CellStatus.TIMEOUT):
                await self.recover(f"cell {i + 1}")
        self.ex.timings["cells"] = clock.now() - t

    def _not_run(self, chk: Check, failed_deps: list[str], crashed: set[str]) -> ProbeResult | None:
        """Why a check's probe does not run (its prerequisites, the kernel, the clock)."""
        if failed_deps:
            return needs_first(failed_deps)
        if chk.stub in crashed:
            note = f"an earlier check of `{chk.stub}` crashed the kernel; not run again"
            return ProbeResult(ProbeKind.NOT_RERUN, note=note)
        if not self.alive:
            return ProbeResult(ProbeKind.SKIPPED, note="the kernel could not be restarted")
        if self.deadline - clock.now() <= 0:
            self.ex.timed_out = True
            return ProbeResult(ProbeKind.SKIPPED, note="the submission ran out of time")
        return None

    async def probes(
        self,
        checks: Sequence[Check],
        gate: Callable[[Check, ProbeResult], bool] | None,
        ctx_for: Callable[[Check], dict[str, object]],
    ) -> None:
        t = clock.now()
        crashed: set[str] = set()  # stubs whose check killed the kernel: not run again
        passed: dict[str, bool] = {}
        for chk in checks:
            failed = [d for d in chk.depends if not passed.get(d, False)] if gate else []
            skipped = self._not_run(chk, failed, crashed)
            if skipped is not None:
                self.ex.probes[chk.name] = skipped
                continue
            timeout = min(chk.timeout or self.limits.check_timeout, self.deadline - clock.now())
            res = await self.ks.probe(chk, ctx_for(chk), timeout)
            self.ex.probes[chk.name] = res
            if gate is not None:
                passed[chk.name] = gate(chk, res)
            if res.kind == ProbeKind.DIED:
                crashed.add(chk.stub)
            if res.kind in (ProbeKind.DIED, ProbeKind.TIMEOUT):
                await self.recover(f"check {chk.name!r}", res.note)
        self.ex.timings["checks"] = clock.now() - t


def _ranges(idx: list[int]) -> str:
    return ", ".join(str(i + 1) for i in idx) if idx else "(none)"
