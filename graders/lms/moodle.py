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
- Team submissions: a team's folder is ``<group name>_<group id>_assignsubmission_file_``
  and the worksheet of a team assignment has a Group column (``submissionteam``) naming each
  member's group; the team's report goes to every member, and its page to each member's folder.
Columns are found by those headers in the languages below, or named with --id-column,
--grade-column, --max-column, --feedback-column, --name-column and --team-column for any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..intake import rules as intake
from .export import Exported, Graded, comment, read_csv, write_csv, write_pages

# Moodle's own strings for the worksheet's headers (``gradingtable.php``: ``recordid``,
# ``fullname``, ``grade``/``gradenoun``, ``maxgrade``, ``submissionteam``,
# ``lastmodifiedgrade``, and the comments plugin's ``pluginname``), in en, de, fr, es, it,
# pt and nl as their language packs have them (read from projectestac/moodle-langpacks'
# ``<lang>/assign.php``, ``<lang>/assignfeedback_comments.php`` and core ``moodle.php``;
# German checked against worksheets German-language courses downloaded). Any other language:
# name the columns with the --*-column options.
ID_HEADERS = {"Identifier", "ID", "Identifiant", "Identificador", "Identificativo",
              "Número de identificação", "Identificatie"}  # fmt: skip
GRADE_HEADERS = {"Grade", "Bewertung", "Note", "Calificación", "Valutazione", "Nota", "Cijfer"}
MAX_HEADERS = {"Maximum grade", "Maximum Grade", "Bestwertung", "Note maximale",
               "Calificación máxima", "Valutazione massima", "Nota Máxima", "Nota máxima",
               "Maximaal cijfer"}  # fmt: skip
FEEDBACK_HEADERS = {"Feedback comments", "Feedback als Kommentar", "Feedback par commentaires",
                    "Comentarios de retroalimentación", "Commenti", "Comentários de feedback",
                    "Feedback"}  # fmt: skip
NAME_HEADERS = {"Full name", "Vollständiger Name", "Nom complet", "Nombre completo",
                "Nome completo", "Volledige naam"}  # fmt: skip
TEAM_HEADERS = {"Group", "Gruppe", "Groupe", "Grupo", "Gruppo", "Groep"}
MODIFIED_HEADERS = {"Last modified (grade)", "Zuletzt geändert (Bewertung)",
                    "Dernière modification (note)", "Última modificación (calificación)",
                    "Ultima modifica (valutazione)", "Última atualização (avaliação)",
                    "Laatst gewijzigd (beoordeling)"}  # fmt: skip
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
    team: int | None = None


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
    team = _find(header, named.get("team"), TEAM_HEADERS)
    return Columns(id_at, grade, feedback, maximum, name, team)


def _number(text: str) -> tuple[float | None, str]:
    """A number as the worksheet writes it, and its decimal mark."""
    mark = "," if re.fullmatch(r"-?\d+,\d+", text.strip()) else "."
    try:
        return float(text.strip().replace(",", ".")), mark
    except ValueError:
        return None, mark


def _norm(name: str) -> str:
    """A name as a download folder and the worksheet both spell it: Moodle writes folder
    names with ``_`` as spaces (``mod/assign/classes/downloader.php``, ``get_student_prefix``:
    ``fullname`` for a student, ``str_replace('_', ' ', $groupname)`` for a team)."""
    return " ".join(name.replace("_", " ").casefold().split())


def _teams(reports: list[Graded], rows: list[list[str]], cols: Columns) -> dict[str, Graded]:
    """Team downloads by the group name the worksheet's Group column shows: a team's folder
    is ``<group name>_<group id>_assignsubmission_file_`` (``get_student_prefix``), and its
    group id is no participant's, so a report is a team's only when its name is a group of
    the worksheet and not the name of the participant with that id. Group names are unique
    in a course (``groups/group_form.php`` refuses a second one), so a name is one team."""
    if cols.team is None:
        return {}
    groups = {_norm(r[cols.team]) for r in rows[1:] if r[cols.team].strip()}
    names = {}
    if cols.name is not None:
        for r in rows[1:]:
            m = PARTICIPANT.match(r[cols.id].strip())
            if m:
                names[m.group(1)] = _norm(r[cols.name])
    return {
        _norm(g.student): g
        for g in reports
        if _norm(g.student) in groups and names.get(g.student_id or "") != _norm(g.student)
    }


def _refusal(g: Graded, row: list[str], cols: Columns, value: float | None, team: bool) -> str:
    """Why this row must not get this report's grade ("" when it may): a folder whose name is
    not the row's (a team's folder the worksheet has no Group column for, or another
    person's), or a grade outside 0..the maximum, which Moodle would skip or store out of
    range."""
    if not team and cols.name is not None and _norm(g.student) != _norm(row[cols.name]):
        return (f"{g.id}: the download names {g.student!r} for id {g.student_id}, the worksheet "
                f"{row[cols.name]!r} (a team submission? download the worksheet with the "
                "Group column); not filled")  # fmt: skip
    most, _ = _number(row[cols.maximum])
    if value is not None and (most is None or not 0 <= value <= most):
        return f"{g.id}: {value:g} is outside 0..{row[cols.maximum]}; not filled"
    return ""


def _report(
    row: list[str], cols: Columns, by_id: dict[str, Graded], teams: dict[str, Graded]
) -> tuple[Graded | None, bool]:
    """The report for one worksheet row, and whether it is its team's: a member of a team
    with a report gets the team's; anyone else, the report of their own participant id."""
    if cols.team is not None and (g := teams.get(_norm(row[cols.team]))) is not None:
        return g, True
    m = PARTICIPANT.match(row[cols.id].strip())
    g = by_id.get(m.group(1)) if m else None
    return (None, False) if g is None or _norm(g.student) in teams else (g, False)


def fill(
    reports: list[Graded], rows: list[list[str]], cols: Columns, done: Exported
) -> dict[str, tuple[str, Graded]]:
    """Grade and feedback text in each row whose participant (or team) has a report (in
    place); for each participant filled in, the name to file their page under and the
    report (a team's for each of its members)."""
    by_id = {g.student_id: g for g in reports if g.student_id}
    teams = _teams(reports, rows, cols)
    seen, pages = set(), {}
    for row in rows[1:]:
        row.extend([""] * (len(rows[0]) - len(row)))
        m = PARTICIPANT.match(row[cols.id].strip())
        g, team = _report(row, cols, by_id, teams)
        if m:
            seen.add(m.group(1))
        who = row[cols.id].strip()
        if g is None or g.status == "error":
            if g is not None or m:  # a participant without a report, or held back
                done.record(g, None, who)
            continue
        seen.add(g.student_id or "")
        out_of, mark = _number(row[cols.maximum])
        value = g.points(out_of if out_of and out_of > 0 else None)
        if why := _refusal(g, row, cols, value, team):
            done.refused.append(why)
            continue
        label = f"{who} ({g.student})" if team else g.id
        done.record(g, value, label, row[cols.grade], _number(row[cols.grade])[0])
        if m:
            pages[m.group(1)] = (row[cols.name] if team and cols.name is not None else g.student, g)
        if value is not None:
            row[cols.grade] = f"{value:.2f}".replace(".", mark)
        if cols.feedback is not None:
            row[cols.feedback] = comment(g)
    done.match(reports, seen)
    return pages


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


def feedback_pages(filled: dict[str, tuple[str, Graded]]) -> dict[str, bytes]:
    """Each participant's feedback page (a team's page for each member), in the folder
    Moodle's feedback-files upload matches to that participant (``importziplib.php``)."""
    return {
        f"{name.replace('/', ' ')}_{pid}_assignsubmission_file_/feedback.html": g.feedback_page()
        for pid, (name, g) in filled.items()
    }


def export_moodle(
    reports: list[Graded], worksheet: Path, out: Path, named: dict[str, str | None]
) -> Exported:
    """``grader export moodle``: ``out/moodle_worksheet.csv`` (the instructor's worksheet
    with grades and feedback comments) and ``out/moodle_feedback.zip``."""
    rows, delimiter = read_csv(worksheet)
    cols = columns(rows[0], named)
    done = Exported(column=rows[0][cols.grade])
    filled = fill(reports, rows, cols, done)
    ours = {cols.id, cols.grade, cols.feedback, cols.maximum}
    for row in rows[1:]:  # names, online text: students' words, never a spreadsheet formula
        row[:] = [c if i in ours else intake.csv_cell(c) for i, c in enumerate(row)]
    done.written.append(write_csv(out / "moodle_worksheet.csv", rows, delimiter))
    if note := _dates_note(rows):
        done.notes.append(note)
    if cols.feedback is None:
        done.notes.append("the worksheet has no feedback column: enable 'Feedback comments' in "
                          "the assignment's settings and download it again")  # fmt: skip
    write_pages(out / "moodle_feedback.zip", feedback_pages(filled), done)
    return done
