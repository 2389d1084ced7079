"""Many submissions at once: worker slots (pinned to GPUs round robin), kernels started
ahead, a zygote's loss regraded, and a run that stops when no kernel can start."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..errors import KernelHostLost, KernelStartError
from ..intake.discover import Submission
from ..kernel.session import KernelSession
from ..verdict.model import Event, EventKind, Report
from .pipeline import error_report, grade_submission
from .prepare import Prepared

# Kernels that must fail to start, with none started, before a run stops: one failure can be
# bad luck (a start-up timeout on a loaded machine); several in a row are the machine.
STOP_AFTER = 3


async def _start_ahead(p: Prepared, gpu: str | None) -> KernelSession:
    ks = p.new_session(gpu)
    try:
        await ks.start()
    except BaseException:
        await ks.close()
        raise
    return ks


async def grade_many(
    p: Prepared,
    subs: list[Submission],
    on_done: Callable[[Report], None],
    skip: Callable[[Submission], bool] = lambda s: False,
) -> list[Report]:
    """Grade submissions ``jobs`` at a time; ``on_done`` sees each report as it is made.
    On CUDA each worker slot is pinned to one GPU, round robin (several workers per GPU).

    With ``prestarting``, a worker that takes a submission also starts a kernel for a later
    one; a pre-started kernel is fresh (only the harness's prelude and imports have run in
    it), serves exactly one submission and is killed after it, so isolation is unchanged.
    Never more kernels are started ahead than submissions are still waiting.

    When the first kernels of a run all fail to start (:data:`STOP_AFTER` of them, before any
    starts), the machine cannot grade: the rest are not attempted and
    :class:`KernelStartError` says why, after the reports of those tried are made."""
    todo = [s for s in subs if not skip(s)]
    run = _Run(p, todo, on_done)
    try:
        await asyncio.gather(*(run.one(s) for s in todo))
    finally:  # kernels started for submissions that never came (interrupted, or failed)
        await run.close_ahead()
    if run.stop:
        raise KernelStartError(
            f"no kernel could start, so grading stopped after {run.failed} submission(s) (a "
            f"rerun grades them again): {run.stop}"
        )
    return run.reports


class _Run:
    """The state of one :func:`grade_many`: free worker slots, kernels started ahead, and
    how many kernels have started or failed to."""

    def __init__(self, p: Prepared, todo: list[Submission], on_done: Callable[[Report], None]):
        self.p = p
        self.on_done = on_done
        self.slots: asyncio.Queue[str | None] = asyncio.Queue()
        for i in range(max(1, p.settings.jobs)):
            self.slots.put_nowait(p.gpus[i % len(p.gpus)] if p.gpus else None)
        self.waiting = self.gradable = sum(1 for s in todo if s.gradable)
        self.ahead: dict[str | None, list[asyncio.Task[KernelSession]]] = {}
        self.reports: list[Report] = []
        self.started = self.failed = 0
        self.stop = ""  # why no kernel can start here, once that is clear

    async def take_session(self, gpu: str | None) -> tuple[KernelSession | None, str]:
        """A kernel started ahead for this GPU, if one is; and start one for a later
        submission. The note says when the one started ahead had failed."""
        self.waiting -= 1
        tasks = self.ahead.get(gpu, [])
        session, note = None, ""
        if tasks:
            tasks.sort(key=lambda t: not t.done())  # a kernel that is ready first
            task = tasks.pop(0)
            try:
                session = await task
            except Exception as exc:  # it failed to start: the submission starts its own
                note = f"a kernel started ahead failed ({type(exc).__name__}: {exc}); started anew"
        if self.p.settings.prestarting and self.waiting > sum(map(len, self.ahead.values())):
            self.ahead.setdefault(gpu, []).append(asyncio.create_task(_start_ahead(self.p, gpu)))
        return session, note

    async def one(self, sub: Submission) -> None:
        gpu = await self.slots.get()
        if self.stop:
            self.slots.put_nowait(gpu)
            return
        try:
            report = await self._grade(sub, gpu)
        finally:
            self.slots.put_nowait(gpu)
        if report.start_error:
            self.failed += 1
            if not self.started and self.failed >= min(STOP_AFTER, self.gradable):
                self.stop = report.start_error
        elif sub.gradable:
            self.started += 1
        self.reports.append(report)
        self.on_done(report)

    async def _grade(self, sub: Submission, gpu: str | None) -> Report:
        """One submission's report; a lost zygote costs one regrade, a harness bug an error
        report, never the run."""
        p, session = self.p, None
        try:
            session, note = await self.take_session(gpu) if sub.gradable else (None, "")
            kind = EventKind.PRESTART_FAILED
            try:
                report = await grade_submission(p, sub, gpu, session=session)
            except KernelHostLost as exc:  # once more, on a new zygote; then an error
                if session is not None:
                    await session.close()
                session, note = None, f"{exc}; graded again from the start"
                kind = EventKind.GRADED_AGAIN
                report = await grade_submission(p, sub, gpu)
            if note:
                report.events.insert(0, Event(kind, note))
            return report
        except Exception as exc:  # a harness bug on one submission never stops the run
            if session is not None:
                await session.close()  # closing twice is harmless
            return error_report(p, sub, f"{type(exc).__name__}: {exc}")

    async def close_ahead(self) -> None:
        for task in [t for tasks in self.ahead.values() for t in tasks]:
            task.cancel()
            try:
                ks = await task
            except BaseException:
                continue
            await ks.close()
