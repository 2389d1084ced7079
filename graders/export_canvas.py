"""Canvas: the gradebook import file and the Re-Upload Submissions zip, from a reports folder.

What this relies on (Canvas's gradebook export and importer, instructure/canvas-lms):
- The instructor's own gradebook export (Grades > Export) is the template. Its first columns
  identify the student (``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, sometimes
  ``Integration ID``, ``Section``); assignment columns are titled ``<name> (<assignment id>)``
  (an unknown title would create a new assignment); a row whose first cell is ``Points
  Possible`` gives each assignment's points; computed columns (``Current Score`` ...) follow.
  A blank cell imports no score.
- Re-Upload Submissions (the assignment's menu in the gradebook) takes a zip of files named as
  Download Submissions named them, ``<lastfirst>_[late_]<user id>_<attachment id>_<file>``:
  Canvas reads the first two all-digit parts of a name as the user and the attachment of that
  user's submission, and attaches the file to the submission as a comment
  (``Assignment#infer_comment_context_from_filename``).
"""

from __future__ import annotations

import re
from pathlib import Path

from . import intake
from .errors import UsageError
from .export import Exported, Graded, read_csv, write_csv, write_pages
from .lms import CANVAS

COLUMN = re.compile(r"^(?P<name>.*\S)\s*\((?P<id>\d+)\)$")
POINTS_ROW = "Points Possible"


def _choose(header: list[str], wanted: str | None, titles: tuple[str, ...]) -> int:
    """The index of the one assignment column: by ``wanted`` (name or id), else the only one
    whose name holds the assignment's title or name; otherwise the instructor is asked."""
    columns = {i: m for i, h in enumerate(header) if (m := COLUMN.match(h.strip()))}
    if not columns:
        raise UsageError("the gradebook has no assignment column titled 'Name (id)': pass the "
                         "file Canvas's Grades > Export wrote")  # fmt: skip
    if wanted:
        key = wanted.strip().casefold()
        hits = [
            i
            for i, m in columns.items()
            if key in (m["id"], m["name"].casefold(), header[i].strip().casefold())
        ]
    else:
        hits = [i for i, m in columns.items()
                if any(t.casefold() in m["name"].casefold() for t in titles if t)]  # fmt: skip
    if len(hits) == 1:
        return hits[0]
    listed = "; ".join(header[i].strip() for i in (hits or list(columns)))
    why = "several columns match" if hits else "no column matches"
    raise UsageError(f"{why} the assignment ({wanted or titles[0]!r}): {listed}. Pass "
                     "--assignment with the column's name or id")  # fmt: skip


def _points(rows: list[list[str]], col: int) -> float | None:
    for row in rows[1:]:
        if row and row[0].strip() == POINTS_ROW and col < len(row):
            try:
                return float(row[col])
            except ValueError:
                return None
    return None


def gradebook_rows(
    reports: list[Graded], rows: list[list[str]], col: int, done: Exported
) -> list[list[str]]:
    """The import file's rows: the student columns, the one assignment column, nothing else."""
    header = rows[0]
    if "ID" not in header:
        raise UsageError("the gradebook has no ID column: pass Canvas's own export")
    id_at = header.index("ID")
    first = min(i for i, h in enumerate(header) if COLUMN.match(h.strip()))
    keep = [*range(first), col]
    out_of = _points(rows, col)
    by_id = {g.student_id: g for g in reports if g.student_id}
    out = [[header[i] for i in keep]]
    for row in rows[1:]:
        cells = [row[i] if i < len(row) else "" for i in keep]
        # names and sections are people's words: never a formula (the id stays as Canvas has it)
        cells[:first] = [
            c if i == id_at else intake.csv_cell(c) for i, c in enumerate(cells[:first])
        ]
        uid = row[id_at].strip() if id_at < len(row) else ""
        if not uid:  # Points Possible and other rows that are not a student's
            out.append(cells)
            continue
        g = by_id.get(uid)
        value = g.points(out_of) if g is not None else None
        done.record(g, value, row[0].strip() or uid)
        cells[-1] = "" if value is None else f"{value:g}"
        out.append(cells)
    ids = {row[id_at].strip() for row in rows[1:] if id_at < len(row)}
    done.match(reports, ids)
    return out


def reupload_pages(reports: list[Graded]) -> dict[str, bytes]:
    """Each student's feedback page, named so that Re-Upload Submissions attaches it to their
    submission: the prefix of the file they handed in (user id, attachment id)."""
    pages = {}
    for g in reports:
        m = CANVAS.match(g.source_name)
        if m is not None and g.status != "error":
            prefix = f"{m['name']}_{m['late'] or ''}{m['uid']}_{m['sid']}"
            pages[f"{prefix}_feedback.html"] = g.feedback_page()
    return pages


def export_canvas(
    reports: list[Graded], gradebook: Path, out: Path, assignment: str | None = None
) -> Exported:
    """``grader export canvas``: ``out/canvas_import.csv`` and ``out/canvas_feedback.zip``."""
    rows, _ = read_csv(gradebook)
    info = reports[0].report["assignment"]
    col = _choose(rows[0], assignment, (str(info.get("title", "")), str(info.get("name", ""))))
    done = Exported()
    done.written.append(
        write_csv(out / "canvas_import.csv", gradebook_rows(reports, rows, col, done))
    )
    # none when no report came from a Canvas download: nothing to name a page after
    write_pages(out / "canvas_feedback.zip", reupload_pages(reports), done)
    return done
