"""The pipeline: discover -> prepare -> execute -> probe -> compare -> score -> report."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__, bundle, notebook
from .assignment import Assignment
from .checks import Check, CheckSuite
from .data import has_fashion_mnist, is_synthetic, write_fashion_mnist
from .devices import device_info, gpu_names, resolve_device
from .discover import Submission
from .errors import AssignmentError, KernelHostLost, KernelStartError, UsageError, default_jobs
from .execute import Source, execute_submission
from .kernel_results import ProbeResult
from .mistakes import Mistake, Results, diagnose, load_mistakes, mistake_results
from .model import CheckResult, Event, EventKind, Outcome, Report, Status, SubmissionInfo
from .providers import KernelProvider
from .reference import (
    cache_key,
    library_versions,
    reference_failures,
    reference_results,
    seeds,
)
from .sandbox import Cgroup, Sandbox, get_sandbox, protect
from .score import evaluate, summary_line
from .session import KernelSession
from .zygote import choose_kernels


@dataclass(frozen=True)
class Settings:
    cache_dir: Path
    sandbox: str = "auto"
    device: str = "cpu"
    jobs: int = field(default_factory=default_jobs)
    data_dir: Path | None = None
    public_only: bool = False
    force: bool = False
    # Start each worker's next kernel (and its heavy imports) while it grades the current
    # submission, so that start-up hides behind work: "on", "off", or "auto" (on only when
    # there are more cores than workers: starting a kernel is CPU work, and on a machine
    # whose cores are all grading it only competes with them; measured in benchmarks/bulk.py).
    prestart: str = "auto"
    # How kernels start: "zygote" (forked from a process that imported the heavy modules once
    # per run), "fresh" (one new sandboxed process each), or "auto" (zygote where it works).
    kernels: str = "auto"

    @property
    def prestarting(self) -> bool:
        if self.prestart == "auto":
            return self.jobs < default_jobs()
        return self.prestart == "on"


@dataclass
class Prepared:
    """Everything shared by all submissions of one run, computed once."""

    assignment: Assignment
    suite: CheckSuite
    reference: dict[str, ProbeResult]
    sandbox: Sandbox
    settings: Settings
    data: Path | None
    synthetic_data: bool
    seeds: dict[str, int]
    device: str = "cpu"  # resolved: cpu or cuda
    gpus: list[str] = field(default_factory=list)  # GPU indices workers are pinned to
    gpu_names: dict[str, str] = field(default_factory=dict)
    # "train(model, loss_fn, optimizer, X, y, epochs)" per stub, as the template defines it
    signatures: dict[str, str] = field(default_factory=dict)
    mistakes: tuple[Mistake, ...] = ()  # known mistakes, and their probes' results
    mistake_results: Results = field(default_factory=dict)
    kernels: KernelProvider = field(default_factory=KernelProvider)
    kernels_note: str = ""  # why --kernels auto chose fresh kernels

    @functools.cached_property
    def fingerprint(self) -> str:
        """The assignment's fingerprint, read once per run, not once per submission."""
        return self.assignment.fingerprint()

    def new_session(self, gpu: str | None) -> KernelSession:
        a = self.assignment
        return KernelSession(self.sandbox, a.limits, self.data, a.heavy_imports, gpu, self.kernels)

    async def close(self) -> None:
        """End of the run: stop the zygotes."""
        await self.kernels.close()

    def inputs_key(self, sub: Submission) -> str:
        """Changes whenever a regrade could change this submission's report."""
        h = hashlib.sha256()
        for part in (
            sub.sha256,
            self.fingerprint,
            __version__,
            self.sandbox.name,
            self.device,
            str(self.settings.public_only),
        ):
            h.update(part.encode())
            h.update(b"\0")
        return h.hexdigest()[:24]


def resolve_data(assignment: Assignment, settings: Settings) -> tuple[Path | None, bool]:
    if assignment.data is None:
        return None, False
    if settings.data_dir is not None:
        root = settings.data_dir.resolve()
        if assignment.data == "fashion-mnist" and not has_fashion_mnist(root):
            raise UsageError(
                f"{root} has no FashionMNIST/raw/ files; point --data-dir at the folder that "
                "holds FashionMNIST/, or omit it to use a small synthetic set"
            )
        return root, is_synthetic(root)
    root = settings.cache_dir / "data" / "fashion-mnist-synthetic"
    if not has_fashion_mnist(root):
        write_fashion_mnist(root)
    return root, True


async def prepare(
    assignment: Assignment, settings: Settings, *, allow_broken_reference: bool = False
) -> Prepared:
    data, synthetic = resolve_data(assignment, settings)
    device, gpus = resolve_device(assignment, settings.device)
    protect(assignment.root, assignment.reference_dir, settings.cache_dir)
    Cgroup.sweep()
    if bundle.is_bundle(assignment.root):  # a student bundle: public checks, stored results
        suite, bundle_seeds = bundle.load_bundle_checks(assignment.root)
        known, known_results = bundle.load_bundle_mistakes(assignment.root)
        return _with_kernels(_with_signatures(Prepared(
            assignment, suite, bundle.load_expected(assignment.root),
            get_sandbox(settings.sandbox), settings, data, synthetic, bundle_seeds,
            device, gpus, gpu_names(gpus), mistakes=known, mistake_results=known_results,
        )))  # fmt: skip
    full = assignment.load_checks()
    suite = full.public() if settings.public_only else full
    if assignment.reference_dir is None:
        raise AssignmentError(
            f"no reference for {assignment.name!r} (expected reference/{assignment.name}/)"
        )
    # The reference always runs on the CPU: students' CUDA results must agree with it within
    # the checks' tolerances, which is what grading on a GPU promises.
    ref = await reference_results(
        assignment, full, cache_dir=settings.cache_dir, device="cpu", data=data
    )
    broken = reference_failures(ref)
    if broken and not allow_broken_reference:
        first = ref[broken[0]]
        why = (first.error or {}).get("message", "") or first.note
        raise AssignmentError(
            f"the reference fails {len(broken)} check(s), e.g. {broken[0]!r} "
            f"({first.kind}: {why}); run `grader verify {assignment.name}`"
        )
    prepared = _with_kernels(
        _with_signatures(
            Prepared(
                assignment,
                suite,
                ref,
                get_sandbox(settings.sandbox),
                settings,
                data,
                synthetic,
                seeds(assignment, full),
                device,
                gpus,
                gpu_names(gpus),
            )
        )
    )
    # Known mistakes run on the CPU too, through the same probes, cached with the reference.
    prepared.mistakes = load_mistakes(assignment.mistakes_path, suite)
    prepared.mistake_results = await mistake_results(
        assignment, suite, prepared.mistakes, prepared.seeds, cache_dir=settings.cache_dir,
        key=cache_key(assignment, "cpu"), device="cpu", data=data,
    )  # fmt: skip
    return prepared


def _with_kernels(p: Prepared) -> Prepared:
    """The kernel provider the settings and this machine allow (``--kernels``)."""
    a = p.assignment
    p.kernels, p.kernels_note = choose_kernels(
        p.settings.kernels, p.sandbox, a.limits, p.data, a.heavy_imports
    )
    return p


def _with_signatures(p: Prepared) -> Prepared:
    """The stubs' signatures from the template, for messages about calls that do not fit."""
    try:
        p.signatures = notebook.signatures(p.assignment.template.read_bytes(), p.assignment.stubs)
    except OSError:
        pass  # no template: messages just go without the signature
    return p


def _source(sub: Submission) -> Source:
    if sub.kind == "notebook":
        read = notebook.read(sub.data)
        if read.nb is None:  # discovery read it; a submission built by hand may not be readable
            raise ValueError(read.problem)
        return Source.from_notebook(read.nb, sub.extra)
    return (
        Source.from_module("submission.py", sub.data)
        if not sub.extra
        else Source(
            Source.from_module("submission.py", sub.data).cells,
            (),
            {**sub.extra, "submission.py": sub.data},
        )
    )


def _base_report(p: Prepared, sub: Submission) -> Report:
    a = p.assignment
    return Report(
        submission=SubmissionInfo(
            sub.id,
            sub.shown_path,
            sub.kind,
            sub.sha256,
            p.inputs_key(sub),
            sub.student,
            sub.student_id,
            sub.note,
        ),
        assignment={"name": a.name, "title": a.title, "version": a.version},
        harness={"name": "graders", "version": __version__, **library_versions()},
        status=Status.GRADED,
        score=0.0,
        max_score=p.suite.total_points,
        device=dict(device_info(p.device)),
        sandbox=f"{p.sandbox.describe()}; {p.kernels.describe()}",
        data="synthetic" if p.synthetic_data else ("real" if p.data else "none"),
    )


async def grade_submission(
    p: Prepared,
    sub: Submission,
    gpu: str | None = None,
    *,
    use_depends: bool = True,
    session: KernelSession | None = None,
) -> Report:
    """Grade one submission. ``use_depends=False`` runs every check even when its
    prerequisites fail (``grader verify`` uses it to reach every check on the template).
    ``session``: a fresh kernel started ahead for it (see :func:`grade_many`). Raises
    :class:`KernelHostLost` when the zygote its kernel came from died."""
    if gpu is None and p.gpus:
        gpu = p.gpus[0]
    report = _base_report(p, sub)
    if gpu is not None:
        report.device = {**report.device, "gpu": gpu, "gpu_name": p.gpu_names.get(gpu, "")}
    start = time.monotonic()
    if not sub.gradable:
        if session is not None:
            await session.close()
        report.status = Status.UNGRADABLE
        report.reason = sub.problem
        report.output = f"Could not grade this submission: {sub.problem}."
        return report
    verdicts: dict[str, CheckResult] = {}  # made during the run where dependencies ask

    def gate(c: Check, r: ProbeResult) -> bool:
        verdicts[c.name] = evaluate(c, p.reference.get(c.name), r, p.signatures.get(c.stub, ""))
        return verdicts[c.name].outcome is Outcome.PASSED

    try:
        ex = await execute_submission(
            _source(sub),
            p.suite.checks,
            p.sandbox,
            p.assignment.limits,
            seed_for=p.seeds,
            device=p.device,
            data=p.data,
            preload=p.assignment.heavy_imports,
            gpu=gpu,
            gate=gate if use_depends else None,
            session=session,
            provider=p.kernels,
        )
    except KernelHostLost:
        raise  # not the submission's doing: the caller grades it again
    except Exception as exc:  # the harness failed, not the student
        _failed(report, f"{type(exc).__name__}: {exc}")
        report.start_error = str(exc) if isinstance(exc, KernelStartError) else ""
        report.execution_time = time.monotonic() - start
        return report
    report.tests = [
        verdicts.get(c.name)
        or evaluate(c, p.reference.get(c.name), ex.probes[c.name], p.signatures.get(c.stub, ""))
        for c in p.suite.checks
    ]
    report.score = sum(t.score for t in report.tests)
    named = diagnose(p.suite.checks, report.tests, ex.probes, p.mistakes, p.mistake_results)
    for t in report.tests:  # never changes a score
        known = named.get(t.name)
        if known is not None:
            t.mistake = known.shown()
            t.message = f"{known.explain}: {known.hint}. Details: {t.message}"
    report.cells = [
        {
            "index": c.index + 1,
            "status": c.status,
            "error": c.error,
            "output": c.output,
            "duration": round(c.duration, 3),
        }
        for c in ex.cells
    ]
    report.events = ex.events
    report.timings = ex.timings
    report.output = summary_line(report.tests, report.score, report.max_score)
    if ex.timed_out:
        report.output += (
            f" The submission ran out of time ({p.assignment.limits.submission_timeout:g} s)."
        )
    report.execution_time = time.monotonic() - start
    return report


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
    slots: asyncio.Queue[str | None] = asyncio.Queue()
    for i in range(max(1, p.settings.jobs)):
        slots.put_nowait(p.gpus[i % len(p.gpus)] if p.gpus else None)
    todo = [s for s in subs if not skip(s)]
    waiting = gradable = sum(1 for s in todo if s.gradable)
    ahead: dict[str | None, list[asyncio.Task[KernelSession]]] = {}
    reports: list[Report] = []
    started = failed = 0
    stop = ""  # why no kernel can start here, once that is clear

    async def take_session(gpu: str | None) -> tuple[KernelSession | None, str]:
        nonlocal waiting
        waiting -= 1
        tasks = ahead.get(gpu, [])
        session, note = None, ""
        if tasks:
            tasks.sort(key=lambda t: not t.done())  # a kernel that is ready first
            task = tasks.pop(0)
            try:
                session = await task
            except Exception as exc:  # it failed to start: the submission starts its own
                note = f"a kernel started ahead failed ({type(exc).__name__}: {exc}); started anew"
        if p.settings.prestarting and waiting > sum(len(t) for t in ahead.values()):
            ahead.setdefault(gpu, []).append(asyncio.create_task(_start_ahead(p, gpu)))
        return session, note

    async def one(sub: Submission) -> None:
        nonlocal started, failed, stop
        gpu = await slots.get()
        if stop:
            slots.put_nowait(gpu)
            return
        session: KernelSession | None = None
        try:
            session, note = await take_session(gpu) if sub.gradable else (None, "")
            try:
                report = await grade_submission(p, sub, gpu, session=session)
            except KernelHostLost as exc:  # once more, on a new zygote; then an error
                if session is not None:
                    await session.close()
                session, note = None, f"{exc}; graded again from the start"
                report = await grade_submission(p, sub, gpu)
            if note:
                report.events.insert(0, Event(EventKind.GRADED_AGAIN, note))
        except Exception as exc:  # a harness bug on one submission never stops the run
            if session is not None:
                await session.close()  # closing twice is harmless
            report = error_report(p, sub, f"{type(exc).__name__}: {exc}")
        finally:
            slots.put_nowait(gpu)
        if report.start_error:
            failed += 1
            if not started and failed >= min(STOP_AFTER, gradable):
                stop = report.start_error
        elif sub.gradable:
            started += 1
        reports.append(report)
        on_done(report)

    try:
        await asyncio.gather(*(one(s) for s in todo))
    finally:  # kernels started for submissions that never came (interrupted, or failed)
        for task in [t for tasks in ahead.values() for t in tasks]:
            task.cancel()
            try:
                ks = await task
            except BaseException:
                continue
            await ks.close()
    if stop:
        raise KernelStartError(
            f"no kernel could start, so grading stopped after {failed} submission(s) (a rerun "
            f"grades them again): {stop}"
        )
    return reports


def error_report(p: Prepared, sub: Submission, reason: str) -> Report:
    """The report of a submission the harness failed on (status error, exit code 4)."""
    return _failed(_base_report(p, sub), reason)


def _failed(report: Report, reason: str) -> Report:
    report.status = Status.ERROR
    report.reason = reason
    report.output = "The grader failed on this submission; this is not your fault."
    return report


def outcome_counts(reports: list[Report]) -> dict[str, int]:
    counts = {o.value: 0 for o in Outcome}
    for r in reports:
        for t in r.tests:
            counts[t.outcome.value] += 1
    return counts
