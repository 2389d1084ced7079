"""Terminal output with rich: tables, and a progress bar with ETA on a terminal.

Colours and the live bar appear only on a TTY (rich turns them off otherwise, and honours
NO_COLOR); piped output stays plain text that scripts can read.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from ..verdict.model import Outcome, Report, Status

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

STYLE = {"passed": "green", "failed": "red", "error": "red", "timeout": "red",
         "missing": "yellow", "skipped": "yellow"}  # fmt: skip


def grade_table(reports: list[Report]) -> Table:
    table = Table(title="Grading summary", title_justify="left")
    named = any(r.submission.student for r in reports)  # from an LMS export
    table.add_column("submission")
    if named:
        table.add_column("student")
    table.add_column("score", justify="right")
    table.add_column("status")
    table.add_column("checks lost", justify="right")
    for r in sorted(reports, key=lambda r: r.submission.id):
        lost = sum(t.outcome is not Outcome.PASSED for t in r.tests)
        status = r.status.value if r.status is Status.GRADED else f"{r.status.value}: {r.reason}"
        style = "green" if r.all_passed else ("red" if r.status is not Status.GRADED else "")
        # Names, ids and reasons come from students: Text, never markup ("[/]" is a name too)
        cells = [Text(r.submission.id), *([Text(r.submission.student or "")] if named else [])]
        cells += [
            Text(f"{r.score:g}/{r.max_score:g}"),
            Text(status),
            Text(str(lost) if r.status is Status.GRADED else "-"),
        ]
        table.add_row(*cells, style=style)
    return table


def check_table(r: Report) -> Table:
    title = Text(f"{r.assignment['title']}: {r.submission.id}")
    table = Table(title=title, title_justify="left")
    table.add_column("result")
    table.add_column("points", justify="right")
    table.add_column("check")
    for t in r.tests:
        table.add_row(
            f"[{STYLE[t.outcome.value]}]{t.outcome.value}[/]",
            f"{t.score:g}/{t.max_score:g}",
            Text(t.name),
        )
    return table


def print_fixes(r: Report) -> None:
    """The messages of the checks that lost points, unwrapped (easy to grep and to read)."""
    for t in r.tests:
        if t.outcome is not Outcome.PASSED:
            out.print(f"- {t.name}: {t.message}", soft_wrap=True, markup=False)


@contextmanager
def progress(total: int) -> Iterator[Progress | None]:
    """A live bar with ETA on a terminal; None (plain lines instead) otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    bar = Progress(
        TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[last]}", markup=False),
        console=err,
    )  # fmt: skip
    with bar:
        bar.add_task("grade", total=total, last="")
        yield bar
