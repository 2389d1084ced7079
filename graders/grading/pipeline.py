"""One submission through the pipeline: execute it, score each check, name known
mistakes, make its report.

The pipeline: discover (:mod:`.discover`) -> prepare (:mod:`.prepare`, once per run) ->
execute and probe (:mod:`.execute`) -> compare and score (:mod:`.compare`, :mod:`.score`,
here) -> report (:mod:`.report`); :mod:`.schedule` runs many submissions at once.
"""

from __future__ import annotations

import asyncio
import time

from .. import __version__
from ..errors import KernelHostLost, KernelStartError
from ..intake import notebook
from ..intake import rules as intake
from ..intake.discover import Submission
from ..kernel.session import KernelSession
from ..verdict.checks import Check
from ..verdict.diagnose import name_mistakes
from ..verdict.missing import why_missing
from ..verdict.model import CellResult, CheckResult, Outcome, Report, Status, SubmissionInfo
from ..verdict.results import ProbeKind, ProbeResult
from ..verdict.score import evaluate, summary_line
from .devices import device_info
from .execute import Execution, Source, execute_submission
from .prepare import Prepared, Settings, prepare
from .reference import library_versions

__all__ = ["Prepared", "Settings", "error_report", "grade_submission", "prepare"]


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
            _note(p, sub),
        ),
        assignment={"name": a.name, "title": a.title, "version": a.version},
        harness={"name": "graders", "version": __version__, **library_versions()},
        status=Status.GRADED,
        score=0.0,
        max_score=p.suite.total_points,
        device=dict(device_info(p.device)),
        sandbox=f"{p.sandbox.describe()}; {p.kernels.describe()}",
        data="synthetic" if p.synthetic_data else ("real" if p.data else "none"),
        manual=[{"name": m.name, "title": m.title, "points": m.points} for m in a.manual],
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
        source = _source(sub).with_files(p.assignment.data_files)
        ex = await execute_submission(
            source,
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
    # Host work on what the student sent (comparing values, reading failed cells) runs off
    # the event loop: other submissions' kernels are driven meanwhile (see intake.py).
    await asyncio.to_thread(_fill, p, report, ex, verdicts)
    await asyncio.to_thread(_explain_missing, report, ex, _texts(sub, source))
    report.execution_time = time.monotonic() - start
    return report


def _fill(p: Prepared, report: Report, ex: Execution, verdicts: dict[str, CheckResult]) -> None:
    """The report of an execution: each check's verdict, known mistakes, cells, events."""
    report.tests = [
        verdicts.get(c.name)
        or evaluate(c, p.reference.get(c.name), ex.probes[c.name], p.signatures.get(c.stub, ""))
        for c in p.suite.checks
    ]
    report.score = sum(t.score for t in report.tests)
    name_mistakes(p.suite.checks, report.tests, ex.probes, p.mistakes, p.mistake_results)
    report.probes = dict(ex.probes)
    report.cells = [
        CellResult(c.index + 1, c.status, c.error, c.output, c.duration) for c in ex.cells
    ]
    report.events = ex.events
    report.timings = ex.timings
    report.output = summary_line(report.tests, report.score, report.max_score)
    if ex.timed_out:
        report.output += (
            f" The submission ran out of time ({p.assignment.limits.submission_timeout:g} s)."
        )


def _texts(sub: Submission, source: Source) -> list[str]:
    """The code of each cell as the student wrote it (a module is one cell: its text)."""
    if sub.kind == "notebook":
        return list(source.cells)
    return [sub.data.decode("utf-8", errors="replace")]


def _explain_missing(report: Report, ex: Execution, texts: list[str]) -> None:
    """A stub missing because the cell that defines it failed: say so, with that cell's
    error, instead of "not defined"."""
    module = report.submission.kind != "notebook"
    for t in report.tests:
        got = ex.probes.get(t.name)
        if t.outcome is not Outcome.MISSING or got is None or got.kind != ProbeKind.MISSING:
            continue
        name = got.note or t.stub.split(".")[0]  # a method's class is what is missing
        if why := why_missing(name, texts, report.cells, module):
            t.message = why
        elif module:  # there are no cells in a module: what the student can do instead
            t.message = (
                f"`{name}` is not defined. Define it in your module (if you did, check that "
                "the module runs to its end: an error above the definition stops it first)."
            )


def _note(p: Prepared, sub: Submission) -> str:
    """The submission's note, and which of its files the assignment's own files displaced
    (a file named ``data`` where ``data/`` goes): the assignment's win, the student reads why."""
    dropped = intake.clashes(sub.extra, p.assignment.data_files)
    names = ", ".join(dropped[:5]) + (", ..." if len(dropped) > 5 else "")
    clash = f"left out: {names} (the assignment's own files go there)" if dropped else ""
    return "; ".join(filter(None, [sub.note, clash]))


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
