"""What Moodle's offline grading worksheet import does with a CSV file, transcribed from its
code (mod/assign/feedback/offline: ``importgradeslib.php``,
``assignfeedback_offline_grade_importer::init()`` and ``next()``, and ``locallib.php``,
``assign_feedback_offline::process_import_grades()``; read from a fork with the same logic,
``qbassign``), so that a test can ask which grades a worksheet would set. English strings
only; ``strtotime`` reads English dates and no German ones.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

STRGRADE, STRID, STRMODIFIED = "Grade", "Identifier", "Last modified (grade)"
HIDDENUSER = "Participant "  # get_string('hiddenuser', 'assign'): stripped by its length


def strtotime(text: str) -> float | None:
    """PHP's ``strtotime`` on Moodle's English dates; None (PHP's false) for anything else."""
    for fmt in ("%A, %d %B %Y, %I:%M %p", "%A, %d %B %Y, %H:%M", "%d %B %Y"):
        try:
            return datetime.strptime(text.strip(), fmt).timestamp()
        except ValueError:
            continue
    return None


def unformat_float(text: str) -> float | None:
    """Moodle's ``unformat_float``: the user's decimal comma read as a point; '' stays ''."""
    text = text.strip()
    if not text:
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def imports(
    worksheet: str, held: dict[str, tuple[float | None, float]], maximum: float,
    ignoremodified: bool = False,
) -> dict[str, float]:  # fmt: skip
    """The grades importing ``worksheet`` sets: participant id -> grade. ``held``: what Moodle
    has, participant id -> (grade, timemodified). ``init()`` needs the id, grade and last
    modified columns by their exact headers; ``process_import_grades`` skips a row whose grade
    is unchanged, empty or negative, stale (Moodle's grade newer than the row's date, when not
    ignored; a date strtotime cannot read is 0) or out of range."""
    rows = list(csv.reader(io.StringIO(worksheet.removeprefix("\ufeff"))))
    header = rows[0]
    if not {STRGRADE, STRID, STRMODIFIED} <= set(header):
        raise ValueError("invalidgradeimport")
    gi, ii, mi = header.index(STRGRADE), header.index(STRID), header.index(STRMODIFIED)
    out = {}
    for row in rows[1:]:
        uid = row[ii][len(HIDDENUSER) :]
        if uid not in held:
            continue
        current, timemodified = held[uid]
        grade = unformat_float(row[gi])
        modified = strtotime(row[mi]) or 0.0
        stale = current is not None and timemodified > modified + 60
        if current is not None and current == grade:
            continue
        if grade is None or grade < 0 or (not ignoremodified and stale) or grade > maximum:
            continue
        out[uid] = grade
    return out
