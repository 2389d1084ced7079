"""The pipeline: discover -> prepare -> execute -> probe -> compare -> score -> report."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import __version__, bundle
from .assignment import Assignment
from .checks import CheckSuite
from .data import has_fashion_mnist, is_synthetic, write_fashion_mnist
from .discover import Submission
from .errors import AssignmentError, UsageError
from .execute import ProbeResult, Source, execute_submission
from .model import Outcome, Report, Status, SubmissionInfo
from .reference import library_versions, reference_failures, reference_results, seeds
from .sandbox import Cgroup, Sandbox, get_sandbox
from .score import evaluate, summary_line


@dataclass(frozen=True)
class Settings:
    cache_dir: Path
    sandbox: str = "auto"
    device: str = "cpu"
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    data_dir: Path | None = None
    public_only: bool = False
    force: bool = False


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

    def inputs_key(self, sub: Submission) -> str:
        """Changes whenever a regrade could change this submission's report."""
        h = hashlib.sha256()
        for part in (
            sub.sha256,
            self.assignment.fingerprint(),
            __version__,
            self.sandbox.name,
            self.settings.device,
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
    Cgroup.sweep()
    if bundle.is_bundle(assignment.root):  # a student bundle: public checks, stored results
        suite, bundle_seeds = bundle.load_bundle_checks(assignment.root)
        return Prepared(
            assignment, suite, bundle.load_expected(assignment.root),
            get_sandbox(settings.sandbox), settings, data, synthetic, bundle_seeds,
        )  # fmt: skip
    suite = assignment.load_checks()
    if settings.public_only:
        suite = suite.public()
    if assignment.reference_dir is None:
        raise AssignmentError(
            f"no reference for {assignment.name!r} (expected reference/{assignment.name}/)"
        )
    ref = await reference_results(
        assignment, suite, cache_dir=settings.cache_dir, device=settings.device, data=data
    )
    broken = reference_failures(ref)
    if broken and not allow_broken_reference:
        first = ref[broken[0]]
        why = (first.error or {}).get("message", "") or first.note
        raise AssignmentError(
            f"the reference fails {len(broken)} check(s), e.g. {broken[0]!r} "
            f"({first.kind}: {why}); run `grader verify {assignment.name}`"
        )
    return Prepared(
        assignment,
        suite,
        ref,
        get_sandbox(settings.sandbox),
        settings,
        data,
        synthetic,
        seeds(assignment, assignment.load_checks()),
    )


def _source(sub: Submission) -> Source:
    if sub.kind == "notebook":
        nb = nbformat.reads(sub.data.decode("utf-8"), as_version=4)
        return Source.from_notebook(nb, sub.extra)
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
            str(sub.path),
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
        device={"name": p.settings.device},
        sandbox=p.sandbox.describe(),
        data="synthetic" if p.synthetic_data else ("real" if p.data else "none"),
    )


async def grade_submission(p: Prepared, sub: Submission) -> Report:
    report = _base_report(p, sub)
    start = time.monotonic()
    if not sub.gradable:
        report.status = Status.UNGRADABLE
        report.reason = sub.problem
        report.output = f"Could not grade this submission: {sub.problem}."
        return report
    try:
        ex = await execute_submission(
            _source(sub),
            p.suite.checks,
            p.sandbox,
            p.assignment.limits,
            seed_for=p.seeds,
            device=p.settings.device,
            data=p.data,
        )
    except Exception as exc:  # the harness failed, not the student
        report.status = Status.ERROR
        report.reason = f"{type(exc).__name__}: {exc}"
        report.output = "The grader failed on this submission; this is not your fault."
        report.execution_time = time.monotonic() - start
        return report
    report.tests = [evaluate(c, p.reference.get(c.name), ex.probes[c.name]) for c in p.suite.checks]
    report.score = sum(t.score for t in report.tests)
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


async def grade_many(
    p: Prepared,
    subs: list[Submission],
    on_done: Callable[[Report], None],
    skip: Callable[[Submission], bool] = lambda s: False,
) -> list[Report]:
    """Grade submissions ``jobs`` at a time; ``on_done`` sees each report as it is made."""
    sem = asyncio.Semaphore(max(1, p.settings.jobs))
    reports: list[Report] = []

    async def one(sub: Submission) -> None:
        if skip(sub):
            return
        async with sem:
            try:
                report = await grade_submission(p, sub)
            except Exception as exc:  # a harness bug on one submission never stops the run
                report = error_report(p, sub, f"{type(exc).__name__}: {exc}")
        reports.append(report)
        on_done(report)

    await asyncio.gather(*(one(s) for s in subs))
    return reports


def error_report(p: Prepared, sub: Submission, reason: str) -> Report:
    """The report of a submission the harness failed on (status error, exit code 4)."""
    report = _base_report(p, sub)
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
