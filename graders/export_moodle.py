"""Moodle: the offline grading worksheet filled in, and the feedback files zip, from a reports
folder.

What this relies on (Moodle's mod/assign, the offline grading worksheet and its importer):
- The worksheet (Assignment > View all submissions > Download grading worksheet) has a column
  per field with headers in the downloading user's language; the importer finds its columns
  by those same strings: the identifier (``recordid``: "Identifier", German "ID"), the grade
  (``gradenoun``: "Grade", "Bewertung"), the last modification of the grade
  (``lastmodifiedgrade``: "Last modified (grade)", "Zuletzt geändert (Bewertung)", which it
  compares with Moodle's own to skip rows graded there since) and each feedback editor
  ("Feedback comments", "Feedback als Kommentar"). Identifiers read ``Participant 1234``
  (German ``Teilnehmer/in1234``): 1234 is the participant id of the submission download's
  ``<Full Name>_<participant id>_assignsubmission_file_`` folders. Grades are read in the
  user's number format (a decimal comma in German).
- Upload multiple feedback files in a zip matches folders named
  ``<anything>_<participant id>_assignsubmission_file_/``.
Columns are found by those headers in the languages below, or named with --id-column,
--grade-column and --feedback-column for any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from . import intake
from .errors import UsageError
from .export import Exported, Graded, comment, read_csv, write_csv, write_pages

# Moodle's own strings, as its English and German language packs have them (German checked
# against worksheets German-language courses downloaded); other languages: name the columns.
ID_HEADERS = {"Identifier", "ID"}
GRADE_HEADERS = {"Grade", "Bewertung"}
MAX_HEADERS = {"Maximum grade", "Maximum Grade", "Bestwertung"}
FEEDBACK_HEADERS = {"Feedback comments", "Feedback als Kommentar"}
NAME_HEADERS = {"Full name", "Vollständiger Name"}
MODIFIED_HEADERS = {"Last modified (grade)", "Zuletzt geändert (Bewertung)"}
ENGLISH_DATE = re.compile(
    r"^(Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, \d{1,2} (January|February|March|April|May|"
    r"June|July|August|September|October|November|December) \d{4}"
)
PARTICIPANT = re.compile(r"^\D*?(\d+)$")


@dataclass(frozen=True)
class Columns:
    """Where the worksheet keeps what the export fills in, and the name it checks ids by."""

    id: int
    grade: int
    feedback: int | None
    maximum: int
    name: int | None


def _find(header: list[str], named: str | None, known: set[str]) -> int | None:
    if named is not None:
        if named not in header:
            raise UsageError(f"the worksheet has no column {named!r} (its columns: "
                             f"{', '.join(header)})")  # fmt: skip
        return header.index(named)
    hits = [i for i, h in enumerate(header) if h.strip() in known]
    return hits[0] if hits else None


def columns(header: list[str], named: dict[str, str | None]) -> Columns:
    """The identifier, grade, feedback and maximum-grade columns, by header (or as named)."""
    id_at = _find(header, named.get("id"), ID_HEADERS)
    grade = _find(header, named.get("grade"), GRADE_HEADERS)
    if id_at is None or grade is None:
        missing = "identifier" if id_at is None else "grade"
        raise UsageError(
            f"cannot tell which column is the {missing} (headers: {', '.join(header)}): pass "
            f"--{'id' if id_at is None else 'grade'}-column with its header"
        )
    feedback = _find(header, named.get("feedback"), FEEDBACK_HEADERS)
    maximum = _find(header, named.get("max"), MAX_HEADERS)
    if maximum is None:  # scores out of 100 in a /20 assignment: Moodle skips them
        raise UsageError(
            f"cannot tell which column is the maximum grade (headers: {', '.join(header)}): "
            "pass --max-column with its header; grades are scaled to it"
        )
    name = _find(header, named.get("name"), NAME_HEADERS)
    return Columns(id_at, grade, feedback, maximum, name)


def _number(text: str) -> tuple[float | None, str]:
    """A number as the worksheet writes it, and its decimal mark."""
    mark = "," if re.fullmatch(r"-?\d+,\d+", text.strip()) else "."
    try:
        return float(text.strip().replace(",", ".")), mark
    except ValueError:
        return None, mark


def _same_person(folder_name: str, worksheet_name: str) -> bool:
    """The name in a download's folder (Moodle writes ``fullname`` with ``_`` as spaces,
    ``mod/assign/classes/downloader.php``, ``get_student_prefix``) and the worksheet's."""

    def norm(text: str) -> str:
        return " ".join(text.replace("_", " ").casefold().split())

    return norm(folder_name) == norm(worksheet_name)


def _refusal(g: Graded, row: list[str], cols: Columns, value: float | None) -> str:
    """Why this row must not get this report's grade ("" when it may): a team's folder (its
    group id is no participant's, ``get_student_prefix`` names it after the group), or a grade
    outside 0..the maximum, which Moodle would skip or store out of range."""
    if cols.name is not None and not _same_person(g.student, row[cols.name]):
        return (f"{g.id}: the download names {g.student!r} for id {g.student_id}, the worksheet "
                f"{row[cols.name]!r} (a team submission?); not filled")  # fmt: skip
    most, _ = _number(row[cols.maximum])
    if value is not None and (most is None or not 0 <= value <= most):
        return f"{g.id}: {value:g} is outside 0..{row[cols.maximum]}; not filled"
    return ""


def fill(reports: list[Graded], rows: list[list[str]], cols: Columns, done: Exported) -> set[str]:
    """Grade and feedback text in each row whose participant has a report (in place); the
    worksheet's participant ids."""
    by_id = {g.student_id: g for g in reports if g.student_id}
    seen = set()
    for row in rows[1:]:
        row.extend([""] * (len(rows[0]) - len(row)))
        m = PARTICIPANT.match(row[cols.id].strip())
        g = by_id.get(m.group(1)) if m else None
        if m:
            seen.add(m.group(1))
        if g is None or g.status == "error":
            if g is not None or m:  # a participant without a report, or held back
                done.record(g, None, row[cols.id].strip())
            continue
        out_of, mark = _number(row[cols.maximum])
        value = g.points(out_of if out_of and out_of > 0 else None)
        if why := _refusal(g, row, cols, value):
            done.refused.append(why)
            continue
        done.record(g, value, g.id, row[cols.grade], _number(row[cols.grade])[0])
        if value is not None:
            row[cols.grade] = f"{value:.2f}".replace(".", mark)
        if cols.feedback is not None:
            row[cols.feedback] = comment(g)
    done.match(reports, seen)
    return seen


def _dates_note(rows: list[list[str]]) -> str:
    """Moodle compares "Last modified (grade)" with its own record through PHP's strtotime(),
    which reads English dates only (``process_import_grades``): with any other, every
    participant who already has a grade is skipped unless the upload ignores the dates."""
    at = _find(rows[0], None, MODIFIED_HEADERS)
    dates = [r[at].strip() for r in rows[1:] if at is not None and at < len(r)]
    if any(d and d != "-" and not ENGLISH_DATE.match(d) for d in dates) or at is None:
        return ("Moodle cannot read this worksheet's 'last modified' dates (PHP's strtotime() "
                "reads English ones only): tick 'Ignore last modified date' when you upload it, "
                "or Moodle skips every participant who already has a grade")  # fmt: skip
    return ""


def feedback_pages(reports: list[Graded], participants: set[str]) -> dict[str, bytes]:
    """Each worksheet participant's feedback page, in the folder Moodle's feedback-files
    upload matches."""
    return {
        f"{g.student.replace('/', ' ')}_{g.student_id}_assignsubmission_file_/feedback.html": (
            g.feedback_page()
        )
        for g in reports
        if g.student_id in participants and g.status != "error"
    }


def export_moodle(
    reports: list[Graded], worksheet: Path, out: Path, named: dict[str, str | None]
) -> Exported:
    """``grader export moodle``: ``out/moodle_worksheet.csv`` (the instructor's worksheet
    with grades and feedback comments) and ``out/moodle_feedback.zip``."""
    rows, delimiter = read_csv(worksheet)
    cols = columns(rows[0], named)
    done = Exported(column=rows[0][cols.grade])
    participants = fill(reports, rows, cols, done)
    ours = {cols.id, cols.grade, cols.feedback, cols.maximum}
    for row in rows[1:]:  # names, online text: students' words, never a spreadsheet formula
        row[:] = [c if i in ours else intake.csv_cell(c) for i, c in enumerate(row)]
    done.written.append(write_csv(out / "moodle_worksheet.csv", rows, delimiter))
    if note := _dates_note(rows):
        done.notes.append(note)
    if cols.feedback is None:
        done.notes.append("the worksheet has no feedback column: enable 'Feedback comments' in "
                          "the assignment's settings and download it again")  # fmt: skip
    write_pages(out / "moodle_feedback.zip", feedback_pages(reports, participants), done)
    return done
