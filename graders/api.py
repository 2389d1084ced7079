"""Grading from Python: the pipeline of ``grader grade``, without the terminal.

    import graders
    reports = graders.grade("intro_ann", ["submissions/"], out=Path("reports"))
    for r in reports:
        print(r.submission.id, r.status.value, r.score, r.max_score)

Errors are :class:`graders.GraderError` subclasses (a bad assignment, no submissions, no
sandbox where one was asked for); one student's broken or hostile submission is a report
with status ``ungradable`` or ``error``, never an exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from .errors import UsageError, default_jobs
from .grading.prepare import Settings, prepare
from .grading.schedule import grade_many
from .intake.discover import discover
from .kernel.zygote import close_all
from .report.pages import write_run, write_submission
from .sandbox.bwrap import protect
from .spec.assignment import find_assignment
from .verdict.model import Report


def grade(
    assignment: str | Path,
    inputs: Sequence[str | Path],
    *,
    out: Path | None = None,
    jobs: int | None = None,
    sandbox: str = "auto",
    kernels: str = "auto",
    device: str = "auto",
    data_dir: Path | None = None,
    cache_dir: Path | None = None,
) -> list[Report]:
    """Grade every submission found in ``inputs`` (notebooks, modules, folders, LMS zips)
    against ``assignment`` (a name under ``$GRADER_HOME/assignments`` or a folder), ``jobs``
    at a time. With ``out``, each student's feedback.html, results.json and report.json and
    the run's gradebook.csv and summary.html are written there, as ``grader grade`` does.
    ``sandbox``, ``kernels`` and ``device`` take the values of the command's options."""
    named = assignment if isinstance(assignment, str) else str(Path(assignment).resolve())
    found_assignment = find_assignment(named, submissions=tuple(Path(i) for i in inputs))
    found = discover([Path(i) for i in inputs])
    try:
        if not found.submissions:
            raise UsageError("no submissions found in the inputs")
        protect(out, *(Path(i) for i in inputs))
        settings = Settings.for_run(
            cache_dir,
            sandbox=sandbox,
            kernels=kernels,
            device=device,
            data_dir=data_dir,
            jobs=jobs or default_jobs(),
        )

        def on_done(report: Report) -> None:
            if out is not None:
                write_submission(out, report)

        async def run() -> list[Report]:
            try:
                p = await prepare(found_assignment, settings)
                return await grade_many(p, found.submissions, on_done)
            finally:
                await close_all()

        reports = asyncio.run(run())
        if out is not None:
            write_run(out)
        return reports
    finally:
        found.cleanup()
