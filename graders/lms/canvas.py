"""Canvas: the gradebook import file and the Re-Upload Submissions zip, from a reports folder.

What this relies on (Canvas's gradebook export and importer, instructure/canvas-lms):
- The instructor's own gradebook export (Grades > Export) is the template. Its first columns
  identify the student (``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, sometimes
  ``Integration ID``, ``Section``); assignment columns are titled ``<name> (<assignment id>)``
  (an unknown title would create a new assignment); a row whose first cell is ``Points
  Possible`` gives each assignment's points; computed columns (``Current Score`` ...) follow.
  A blank cell beside an existing grade clears it (``GradebookImporter#no_change_to_value?``
  needs both sides present), so every cell without a new score is written as it was.
- Re-Upload Submissions (the assignment's menu in the gradebook) takes a zip of files named as
  Download Submissions named them, ``<lastfirst>_[late_]<user id>_<attachment id>_<file>``:
  Canvas reads the first two all-digit parts of a name as the user and the attachment of that
  user's submission, and attaches the file to the submission as a comment
  (``Assignment#infer_comment_context_from_filename``).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import UsageError
from ..intake import rules as intake
from .export import Exported, Graded, read_csv, write_csv, write_pages

COLUMN = re.compile(r"^(?P<name>.*\S)\s*\((?P<id>\d+)\)$")
POINTS_ROW = "Points Possible"


def _choose(header: list[str], wanted: str | None, titles: tuple[str, ...]) -> int:
    """The index of the one assignment column: by ``wanted`` (its id, its name or the whole
    header), else the one whose name is the assignment's title or name; never a column whose
    name only contains it (``intro_ann extra credit``). Otherwise the instructor is asked."""
    columns = {i: m for i, h in enumerate(header) if (m := COLUMN.match(h.strip()))}
    if not columns:
        raise UsageError("the gradebook has no assignment column titled 'Name (id)': pass the "
                         "file Canvas's Grades > Export wrote")  # fmt: skip
    keys = {wanted.strip().casefold()} if wanted else {t.strip().casefold() for t in titles if t}
    hits = [
        i
        for i, m in columns.items()
        if keys & {m["id"], m["name"].casefold(), header[i].strip().casefold()}
    ]
    if len(hits) == 1:
        return hits[0]
    listed = "; ".join(header[i].strip() for i in (hits or list(columns)))
    why = "several columns match" if hits else "no column is named"
    raise UsageError(f"{why} {wanted or titles[0]!r}: {listed}. Pass --assignment with the "
                     "column's name or id")  # fmt: skip


def canvas_number(text: str) -> float | None:
    """A number as Canvas's importer reads one (canvas-lms ``app/models/gradebook_importer.rb``,
    the ``decimal_comma_to_period`` CSV converter: in ``-?[0-9.,]+``, the last ``,`` or ``.``
    is the decimal mark, the others are dropped): ``12,5`` and ``1.234,5`` are numbers."""
    field = text.strip()
    if not re.fullmatch(r"-?[0-9.,]+", field):
        return None
    *whole, last = re.split(r"[,.]", field)
    try:
        return float(f"{''.join(whole)}.{last}" if whole else last)
    except ValueError:
        return None


def _points(rows: list[list[str]], col: int, header: str) -> tuple[float, str]:
    """The column's Points Possible and the decimal mark the file writes it with. A file
    without a readable one is refused: scores written unscaled would import as extra credit
    (100 into a 12.5-point assignment)."""
    for row in rows[1:]:
        if row and POINTS_ROW in row[0] and col < len(row):
            value = canvas_number(row[col])
            if value is not None and value > 0:
                return value, "," if "," in row[col] else "."
            raise UsageError(f"the Points Possible of {header!r} is {row[col]!r}, not a number "
                             "above 0: export the gradebook from Canvas again")  # fmt: skip
    raise UsageError("the gradebook has no Points Possible row: pass the file Canvas's Grades > "
                     "Export wrote")  # fmt: skip


def gradebook_rows(
    reports: list[Graded], rows: list[list[str]], col: int, done: Exported
) -> list[list[str]]:
    """The import file's rows: the student columns and the one assignment column. A student
    without a new score keeps the cell exactly as the instructor's export had it: Canvas's
    importer (``no_change_to_value?``) reads a blank beside an existing grade as clearing it."""
    header = rows[0]
    if "ID" not in header:
        raise UsageError("the gradebook has no ID column: pass Canvas's own export")
    id_at = header.index("ID")
    first = min(i for i, h in enumerate(header) if COLUMN.match(h.strip()))
    keep = [*range(first), col]
    out_of, mark = _points(rows, col, header[col].strip())
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
        before = cells[-1]
        if value is not None:
            cells[-1] = f"{value:g}".replace(".", mark)
        done.record(g, value, row[0].strip() or uid, before, canvas_number(before))
        out.append(cells)
    ids = {row[id_at].strip() for row in rows[1:] if id_at < len(row)}
    done.match(reports, ids)
    return out


def reupload_pages(reports: list[Graded]) -> dict[str, bytes]:
    """Each student's feedback page, named so that Re-Upload Submissions attaches it to their
    submission: the prefix of the file they handed in (user id, attachment id)."""
    pages = {}
    for g in reports:
        m = g.canvas
        if m is not None and g.status != "error":
            pages[f"{m.safe_prefix}_feedback.html"] = g.feedback_page()
    return pages


def export_canvas(
    reports: list[Graded], gradebook: Path, out: Path, assignment: str | None = None
) -> Exported:
    """``grader export canvas``: ``out/canvas_import.csv`` (in the export's own delimiter and
    decimal mark) and ``out/canvas_feedback.zip``. An import file that would change no grade
    is not written: the run says why instead."""
    rows, delimiter = read_csv(gradebook)
    info = reports[0].report["assignment"]
    col = _choose(rows[0], assignment, (str(info.get("title", "")), str(info.get("name", ""))))
    done = Exported(column=rows[0][col].strip())
    body = gradebook_rows(reports, rows, col, done)
    if not done.changed:
        raise UsageError(
            f"no grade in {done.column!r} would change: " + "; ".join(done.lines()[1:])
            + ". Nothing written (are these reports from this course's download?)"
        )  # fmt: skip
    done.written.append(write_csv(out / "canvas_import.csv", body, delimiter))
    # none when no report came from a Canvas download: nothing to name a page after
    write_pages(out / "canvas_feedback.zip", reupload_pages(reports), done)
    return done
