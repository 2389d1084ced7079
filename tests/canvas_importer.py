"""What Canvas's gradebook importer does with a CSV file, transcribed from its code
(instructure/canvas-lms ``app/models/gradebook_importer.rb``, class ``GradebookImporter``), so
that a test can ask which grades an import file would change. Each function names the method
it follows; only what decides a student's grade in one assignment column is here (no custom
columns, overrides, SIS look-ups or grading periods).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

NON_ASSIGNMENT = ("Current Score", "Current Points", "Current Grade", "Final Score",
                  "Final Points", "Final Grade", "Override Score", "Override Grade",
                  "Override Status")  # fmt: skip  # NON_ASSIGNMENT_COLUMN_HEADERS


def decimal_comma_to_period(field: str | None) -> str | None:
    """The ``decimal_comma_to_period`` CSV converter: a pure number or percentage keeps its
    last ``,``/``.`` as the decimal point and drops the others."""
    if field is None or not re.fullmatch(r"-?[0-9.,]+%?", field):
        return field
    *parts, last = re.split(r"[,.]", field)
    return ".".join(["".join(parts), last]) if parts else last


def identify_delimiter(lines: list[str]) -> str:
    """``identify_delimiter`` over the first three lines (``semicolon_delimited?``): ``;``
    when it splits every line into the same number of fields, more than ``,`` does."""
    counts = {}
    for sep in (";", ","):
        sizes = {len(next(csv.reader([line], delimiter=sep), [])) for line in lines}
        counts[sep] = sizes.pop() if len(sizes) == 1 else 0
    return ";" if counts[";"] > counts[","] else ","


def rows_of(text: str) -> list[list[str | None]]:
    """``csv_stream``: the delimiter chosen as above, every field through the converters,
    lines of only ``;``, ``,`` and spaces skipped."""
    text = text.removeprefix("\ufeff")
    sep = identify_delimiter(text.splitlines()[:3])
    out = []
    for row in csv.reader(io.StringIO(text), delimiter=sep):
        if re.fullmatch(r"[;, ]+", sep.join(row)) or not row:
            continue
        out.append([decimal_comma_to_period(c) for c in row])
    return out


def student_columns(header: list[str | None]) -> int:
    """``update_column_count``: name, ID, section, and the SIS columns Canvas writes."""
    n = 3
    h = [c or "" for c in header]
    if re.search(r"SIS\s+Login\s+ID", h[2]):
        n += 1
    elif re.search(r"SIS\s+User\s+ID", h[2]) and re.search(r"SIS\s+Login\s+ID", h[3]):
        n += 2 + (1 if re.search(r"Integration\s+ID", h[4] if len(h) > 4 else "") else 0)
    return n


def is_header(row: list[str | None]) -> bool:
    """``header?``/``row_has_student_headers?``: Student, ID... and Section last."""
    h = [c or "" for c in row]
    return (
        len(h) > 3
        and "Student" in h[0]
        and "ID" in h[1]
        and "Section" in h[student_columns(row) - 1]
    )


def title_and_id(header: str) -> tuple[str, str | None]:
    """``Assignment.title_and_id``: ``Name (123)`` is the assignment with id 123."""
    m = re.fullmatch(r"(.*)\s+\((\d+)\)", header.strip())
    return (m[1], m[2]) if m else (header, None)


def no_score(value: str | None) -> bool:
    return value is None or value.strip() == "" or value == "-"


def no_change_to_value(new: str | None, current: str | None) -> bool:
    """``no_change_to_value?``: a blank beside a grade is a change (it clears it)."""
    if new == current or (no_score(current) and no_score(new)):
        return True
    if no_score(current) or no_score(new):
        return False
    assert new is not None and current is not None
    if "EX" in (new.upper(), current.upper()):
        return False
    return f"{float(current):.2f}" == f"{float(new):.2f}"


@dataclass
class Parsed:
    assignments: dict[str, int]  # assignment id -> column
    points: dict[str, str | None]  # assignment id -> Points Possible
    grades: dict[str, dict[str, str | None]]  # student id -> assignment id -> grade


def parse(text: str) -> Parsed:
    """``parse!``'s reading of the file: the header, Points Possible, each student's grades
    (``process_student`` by the ID column, ``process_submissions``: the cell, stripped)."""
    rows = rows_of(text)
    header = rows[0]
    if not is_header(header):
        raise ValueError("Invalid header row")
    first = student_columns(header)
    assignments = {}
    for i, h in enumerate(header[first:], first):
        if h and not any(n in h for n in NON_ASSIGNMENT):
            _, aid = title_and_id(h)
            assignments[aid or h] = i
    points: dict[str, str | None] = {}
    grades: dict[str, dict[str, str | None]] = {}
    for row in rows[1:]:
        if row[0] and "Points Possible" in row[0]:
            points = {a: row[i] if i < len(row) else None for a, i in assignments.items()}
        elif all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", c or "", re.I) for c in row):
            continue
        else:
            grades[str(row[1])] = {
                a: (row[i] or "").strip() if i < len(row) else None for a, i in assignments.items()
            }
    return Parsed(assignments, points, grades)


def changes(held: str, upload: str) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    """What importing ``upload`` would change, when Canvas holds what ``held`` (the
    instructor's own export) shows: (student id, assignment id) -> (before, after)."""
    before, after = parse(held), parse(upload)
    out = {}
    for sid, grades in after.grades.items():
        for aid, new in grades.items():
            current = before.grades.get(sid, {}).get(aid)
            if not no_change_to_value(new, current):
                out[(sid, aid)] = (current, new)
    return out
