"""The executor's rules without a kernel: dependency gating, restarts and their limit, the
submission's deadline, a crashed stub not run again, and a zygote's death raised for a regrade.

A scripted fake session stands in for :class:`graders.kernel.session.KernelSession` (the executor
needs only its small surface), and time is the fake clock of :mod:`graders.grading.clock`. Real
kernels are in the integration tests (test_grading.py, test_hostile.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from graders.errors import KernelHostLost
from graders.grading import clock
from graders.grading.execute import Execution, Source, execute_submission
from graders.sandbox.bwrap import NoSandbox
from graders.spec.assignment import Limits
from graders.verdict.checks import Check, Visibility
from graders.verdict.compare import AllClose
from graders.verdict.model import Event, EventKind
from graders.verdict.results import CellRecord, CellStatus, ProbeKind, ProbeResult


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t


class FakeProvider:
    def describe(self) -> str:
        return "a fake zygote"


class FakeSession:
    """A kernel that answers from a script: cell index -> status (default ok), check name ->
    probe kind (default a value); each cell or probe advances the fake clock by ``cost``."""

    def __init__(
        self,
        fake_clock: FakeClock,
        cells: dict[int, list[CellStatus]] | None = None,
        probes: dict[str, ProbeKind] | None = None,
        cost: float = 1.0,
        host_lost: bool = False,
    ) -> None:
        self.clock = fake_clock
        self.cells = cells or {}  # a list: one status per run of that cell, in turn
        self.probes = probes or {}
        self.cost = cost
        self.lost = host_lost
        self.started = False
        self.start_seconds = 0.0
        self.events: list[Event] = []
        self.peak_memory = 0
        self.provider = FakeProvider()
        self.ran: list[int] = []  # cell indices in the order they ran
        self.starts = 0
        self.dead = False

    async def __aenter__(self) -> FakeSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    def place_files(self, files: dict[str, bytes]) -> None:
        pass

    async def adopt_files(self, files: dict[str, bytes]) -> None:
        pass

    async def start(self) -> None:
        self.starts += 1
        self.started, self.dead = True, False

    async def alive(self) -> bool:
        return not self.dead

    def host_lost(self) -> bool:
        return self.lost

    def death_reason(self) -> str:
        return "memory limit"

    async def run_cell(self, index: int, source: str) -> CellRecord:
        self.ran.append(index)
        self.clock.t += self.cost
        script = self.cells.get(index, [])
        status = script.pop(0) if script else CellStatus.OK
        if status in (CellStatus.DIED, CellStatus.TIMEOUT):
            self.dead = True
        return CellRecord(index, status)

    async def probe(self, check: Check, ctx: dict[str, Any], timeout: float) -> ProbeResult:
        self.clock.t += self.cost
        kind = self.probes.get(check.name, ProbeKind.VALUE)
        if kind in (ProbeKind.DIED, ProbeKind.TIMEOUT):
            self.dead = True
        return ProbeResult(kind, value=1.0 if kind == ProbeKind.VALUE else None)


def _check(name: str, stub: str, depends: tuple[str, ...] = ()) -> Check:
    return Check(
        name, stub, "", name, "", 1.0, Visibility.PUBLIC, AllClose(), "", False, None,
        depends=depends,
    )  # fmt: skip


CHECKS = [
    _check("a1", "a"),
    _check("a2", "a"),
    _check("b1", "b", depends=("a1",)),
    _check("c1", "c"),
]


@pytest.fixture()
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fc = FakeClock()
    monkeypatch.setattr(clock, "now", fc.now)
    return fc


def _run(
    session: FakeSession,
    cells: int = 4,
    limits: Limits | None = None,
    gate: Callable[[Check, ProbeResult], bool] | None = None,
) -> Execution:
    source = Source(tuple(f"x{i} = {i}" for i in range(cells)), (), {})
    return asyncio.run(
        execute_submission(
            source, CHECKS, NoSandbox(), limits or Limits(), seed_for={c.name: 0 for c in CHECKS},
            device="cpu", data=None, gate=gate, session=session,  # type: ignore[arg-type]
        )
    )  # fmt: skip


def _kinds(ex: Execution) -> dict[str, str]:
    return {name: str(r.kind) for name, r in ex.probes.items()}


def test_a_check_waits_for_its_prerequisites(fake_clock: FakeClock) -> None:
    session = FakeSession(fake_clock, probes={"a1": ProbeKind.ERROR})
    ex = _run(session, gate=lambda c, r: r.kind == ProbeKind.VALUE)
    assert _kinds(ex) == {"a1": "error", "a2": "value", "b1": "skipped", "c1": "value"}
    assert ex.probes["b1"].note == "it needs “a1” to pass first"
    # without a gate (the reference, grader verify) every check runs
    ex = _run(FakeSession(fake_clock, probes={"a1": ProbeKind.ERROR}))
    assert _kinds(ex)["b1"] == "value"


def test_a_crash_restarts_and_reruns_the_cells_that_ran(fake_clock: FakeClock) -> None:
    session = FakeSession(fake_clock, cells={2: [CellStatus.DIED]})
    ex = _run(session)
    assert [c.status for c in ex.cells] == ["ok", "ok", "died", "ok"]
    assert session.ran == [0, 1, 2, 0, 1, 3]  # cells 1 and 2 ran again on the new kernel
    restarted = "cell 3: memory limit; kernel restarted and cells 1, 2 re-run"
    assert ex.events == [Event(EventKind.KERNEL_RESTARTED, restarted)]
    assert session.starts == 2


def test_a_stub_that_crashed_the_kernel_is_not_run_again(fake_clock: FakeClock) -> None:
    ex = _run(FakeSession(fake_clock, probes={"a1": ProbeKind.DIED}))
    assert _kinds(ex) == {"a1": "died", "a2": "not_rerun", "b1": "value", "c1": "value"}
    assert "crashed the kernel; not run again" in ex.probes["a2"].note


def test_the_restart_limit_stops_the_submission_not_the_run(fake_clock: FakeClock) -> None:
    session = FakeSession(fake_clock, cells={1: [CellStatus.DIED], 2: [CellStatus.DIED]})
    ex = _run(session, limits=Limits(max_restarts=1))
    assert [c.status for c in ex.cells] == ["ok", "died", "died", "skipped"]
    gave_up = "cell 3: memory limit; not restarted (restart limit reached)"
    assert ex.events[-1] == Event(EventKind.KERNEL_NOT_RESTARTED, gave_up)
    assert set(_kinds(ex).values()) == {"skipped"}
    assert ex.probes["c1"].note == "the kernel could not be restarted"


def test_the_deadline_skips_what_is_left(fake_clock: FakeClock) -> None:
    session = FakeSession(fake_clock, cost=10.0)
    ex = _run(session, limits=Limits(submission_timeout=25))
    assert [c.status for c in ex.cells] == ["ok", "ok", "ok", "skipped"]
    assert ex.timed_out
    assert set(_kinds(ex).values()) == {"skipped"}
    assert ex.probes["a1"].note == "the submission ran out of time"


def test_a_probe_gets_at_most_the_time_left(fake_clock: FakeClock) -> None:
    seen: list[float] = []

    class Timed(FakeSession):
        async def probe(self, check: Check, ctx: dict[str, Any], timeout: float) -> ProbeResult:
            seen.append(timeout)
            return await super().probe(check, ctx, timeout)

    _run(Timed(fake_clock, cost=10.0), limits=Limits(submission_timeout=65, check_timeout=30))
    assert seen == [25.0, 15.0, 5.0]  # 4 cells took 40 s; then 10 s per probe


def test_a_dead_zygote_is_raised_for_a_regrade(fake_clock: FakeClock) -> None:
    session = FakeSession(fake_clock, cells={1: [CellStatus.DIED]}, host_lost=True)
    with pytest.raises(KernelHostLost, match="a fake zygote"):
        _run(session)
    assert session.starts == 1  # not restarted: the submission did nothing wrong
