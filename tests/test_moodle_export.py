"""`grader export moodle` on worksheets that lost or misplaced grades (#33, Moodle): a French
worksheet (its maximum column unknown), a team download (a group id read as a participant's),
a grade outside 0..max, an online text over csv's field limit. No kernel: reports are built as
``grader grade`` writes them."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from graders.errors import UsageError
from graders.export import Graded
from graders.export_moodle import export_moodle

FRENCH = ["Identifiant", "Nom complet", "Adresse de courriel", "Statut", "Note",
          "Note maximale", "La note peut être modifiée", "Dernière modification (travail remis)",
          "Dernière modification (note)", "Feedback par commentaires"]  # fmt: skip
ENGLISH = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
           "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
           "Feedback comments"]  # fmt: skip


def _graded(tmp: Path, folder_name: str, score: float) -> Graded:
    """A report of the Moodle download folder ``folder_name`` (``<name>_<id>_assign...``)."""
    name, uid = folder_name.split("_assignsubmission")[0].rsplit("_", 1)
    folder = tmp / "reports" / f"{name}_{uid}"
    folder.mkdir(parents=True)
    (folder / "feedback.html").write_text("<p>page</p>")
    report: dict[str, Any] = {
        "submission": {"id": folder.name, "path": f"/dl/{folder_name}/hw.ipynb",
                       "student": name, "student_id": uid},
        "assignment": {"name": "intro_ann", "title": "Intro ANN"},
        "status": "graded", "score": score, "max_score": 100.0, "tests": [],
    }  # fmt: skip
    return Graded(report, folder)


def _sheet(tmp: Path, rows: list[list[str]]) -> Path:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    path = tmp / "worksheet.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_a_french_worksheet_stops_or_scales_to_its_maximum(tmp_path: Path) -> None:
    """#33.6: headers the grader does not know stop the export with what to pass; named,
    the grade is scaled to the /20 maximum, never written out of 100."""
    rows = [FRENCH, ["Participant 7", "Ada Lovelace", "a@x", "Remis", "", "20,00", "Oui",
                     "lundi", "-", ""]]  # fmt: skip
    sheet = _sheet(tmp_path, rows)
    ada = [_graded(tmp_path, "Ada Lovelace_7_assignsubmission_file_", 85)]
    named: dict[str, str | None] = {"id": "Identifiant", "grade": "Note"}
    with pytest.raises(UsageError, match=r"maximum grade.*--max-column"):
        export_moodle(ada, sheet, tmp_path / "out", named)
    named.update(max="Note maximale", feedback="Feedback par commentaires", name="Nom complet")
    done = export_moodle(ada, sheet, tmp_path / "out", named)
    got = _read(tmp_path / "out" / "moodle_worksheet.csv")
    assert got[1][4] == "17,00" and got[1][8] == "-"  # 85/100 of 20; the date as it was
    assert "1 grade(s) changed: Ada Lovelace_7 (blank -> 17)" in done.lines()


def test_a_team_download_never_grades_an_unrelated_participant(tmp_path: Path) -> None:
    """#33.5: Team Alpha's folder carries its group id (77); participant 77 is someone else."""
    rows = [ENGLISH, ["Participant 77", "Zoe Unrelated", "z@x", "Submitted", "", "100.00",
                      "Yes", "Monday", "-", ""],
            ["Participant 8", "Bo Li", "b@x", "Submitted", "", "100.00", "Yes", "Monday", "-",
             ""]]  # fmt: skip
    team = _graded(tmp_path, "Team Alpha_77_assignsubmission_file_", 100)
    bo = _graded(tmp_path, "Bo Li_8_assignsubmission_file_", 60)
    done = export_moodle([team, bo], _sheet(tmp_path, rows), tmp_path / "out", {})
    got = _read(tmp_path / "out" / "moodle_worksheet.csv")
    assert got[1][4] == "" and got[1][9] == ""  # Zoe keeps her (empty) grade and comment
    assert got[2][4] == "60.00"
    assert any("team submission" in r and "Team Alpha" in r for r in done.refused)


def test_no_value_outside_zero_to_max_is_written(tmp_path: Path) -> None:
    """#33.6: a maximum the export cannot read is no licence to write the score unscaled."""
    rows = [ENGLISH, ["Participant 8", "Bo Li", "b@x", "Submitted", "", "n/a", "Yes", "Monday",
                      "-", ""]]  # fmt: skip
    bo = _graded(tmp_path, "Bo Li_8_assignsubmission_file_", 60)
    done = export_moodle([bo], _sheet(tmp_path, rows), tmp_path / "out", {})
    assert _read(tmp_path / "out" / "moodle_worksheet.csv")[1][4] == ""
    assert any("outside 0..n/a" in r for r in done.refused)


def test_a_long_online_text_does_not_stop_the_export(tmp_path: Path) -> None:
    """#33.15: csv's default limit is 131,072 characters a field."""
    header = [*ENGLISH, "Online text"]
    rows = [header, ["Participant 8", "Bo Li", "b@x", "Submitted", "", "100.00", "Yes",
                     "Monday", "-", "", "x" * 200_000]]  # fmt: skip
    bo = _graded(tmp_path, "Bo Li_8_assignsubmission_file_", 60)
    export_moodle([bo], _sheet(tmp_path, rows), tmp_path / "out", {})
    got = _read(tmp_path / "out" / "moodle_worksheet.csv")
    assert got[1][4] == "60.00" and len(got[1][10]) == 200_000


def test_moodle_imports_only_what_the_export_changed(tmp_path: Path) -> None:
    """The filled worksheet read back by tests/moodle_importer.py (Moodle's own rules): Ada's
    new grade imports, Bo's (already 12) changes nothing, and the export's summary warns when
    the dates are ones Moodle's strtotime() cannot read (#33.7)."""
    from tests.moodle_importer import imports, strtotime

    when = "Monday, 30 November 2026, 11:00 AM"
    rows = [ENGLISH,
            ["Participant 7", "Ada Lovelace", "a@x", "Submitted", "", "20.00", "Yes", when, "-",
             ""],
            ["Participant 8", "Bo Li", "b@x", "Submitted", "12.00", "20.00", "Yes", when, when,
             ""]]  # fmt: skip
    reports = [_graded(tmp_path, "Ada Lovelace_7_assignsubmission_file_", 85),
               _graded(tmp_path, "Bo Li_8_assignsubmission_file_", 60)]  # fmt: skip
    done = export_moodle(reports, _sheet(tmp_path, rows), tmp_path / "out", {})
    filled = (tmp_path / "out" / "moodle_worksheet.csv").read_text(encoding="utf-8")
    stamp = strtotime(when)
    assert stamp is not None
    held = {"7": (None, 0.0), "8": (12.0, stamp)}
    assert imports(filled, held, maximum=20) == {"7": 17.0}
    assert not any("strtotime" in n for n in done.notes)
    german = [r[:] for r in rows]
    german[2][8] = "Montag, 30. November 2026, 11:00"
    done = export_moodle(reports, _sheet(tmp_path, german), tmp_path / "de", {})
    assert any("Ignore last modified date" in n for n in done.notes)
    filled = (tmp_path / "de" / "moodle_worksheet.csv").read_text(encoding="utf-8")
    held = {"8": (10.0, stamp)}  # graded 10 in Moodle: the unreadable date makes it stale
    assert imports(filled, held, maximum=20) == {}
    assert imports(filled, held, maximum=20, ignoremodified=True) == {"8": 12.0}
