"""`grader export moodle` on worksheets that lost or misplaced grades (#33, Moodle): a French
worksheet (its maximum column unknown), a team download (a group id read as a participant's),
a grade outside 0..max, an online text over csv's field limit. No kernel: reports are built as
``grader grade`` writes them."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from graders.errors import UsageError
from graders.lms.export import Graded
from graders.lms.moodle import export_moodle

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


POLISH = ["Identyfikator", "Imię i nazwisko", "Adres email", "Status", "Ocena",
          "Maksymalna ocena", "Ocena może zostać zmieniona", "Ostatnia modyfikacja (przesłane)",
          "Ostatnia modyfikacja (ocena)", "Komentarz zwrotny"]  # fmt: skip
LANGUAGES = {  # the headers Moodle's language packs give (see export_moodle's sources)
    "fr": FRENCH,
    "es": ["Identificador", "Nombre completo", "Email", "Estado", "Calificación",
           "Calificación máxima", "x", "x", "Última modificación (calificación)",
           "Comentarios de retroalimentación"],
    "it": ["Identificativo", "Nome completo", "Email", "Stato", "Valutazione",
           "Valutazione massima", "x", "x", "Ultima modifica (valutazione)", "Commenti"],
    "pt": ["Número de identificação", "Nome completo", "Email", "Estado", "Nota", "Nota Máxima",
           "x", "x", "Última atualização (avaliação)", "Comentários de feedback"],
    "nl": ["Identificatie", "Volledige naam", "Email", "Status", "Cijfer", "Maximaal cijfer",
           "x", "x", "Laatst gewijzigd (beoordeling)", "Feedback"],
}  # fmt: skip


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_worksheets_in_other_languages_scale_to_their_maximum(tmp_path: Path, lang: str) -> None:
    """#33.6: the French (and es, it, pt, nl) worksheet's columns are found by Moodle's own
    strings; the grade is scaled to the /20 maximum in the worksheet's decimal mark."""
    rows = [LANGUAGES[lang], ["Participant 7", "Ada Lovelace", "a@x", "Remis", "", "20,00",
                              "Oui", "lundi", "-", ""]]  # fmt: skip
    ada = [_graded(tmp_path, "Ada Lovelace_7_assignsubmission_file_", 85)]
    done = export_moodle(ada, _sheet(tmp_path, rows), tmp_path / "out", {})
    got = _read(tmp_path / "out" / "moodle_worksheet.csv")
    assert got[1][4] == "17,00" and got[1][8] == "-"  # 85/100 of 20; the date as it was
    assert got[1][9].startswith("Score: 85/100")  # the feedback comment in its column
    assert "1 grade(s) changed: Ada Lovelace_7 (blank -> 17)" in done.lines()


def test_an_unknown_language_stops_or_scales_to_its_maximum(tmp_path: Path) -> None:
    """#33.6: headers the grader does not know stop the export with what to pass; named,
    the grade is scaled to the /20 maximum, never written out of 100."""
    rows = [POLISH, ["Uczestnik 7", "Ada Lovelace", "a@x", "x", "", "20,00", "Tak", "x", "-",
                     ""]]  # fmt: skip
    sheet = _sheet(tmp_path, rows)
    ada = [_graded(tmp_path, "Ada Lovelace_7_assignsubmission_file_", 85)]
    named: dict[str, str | None] = {"id": "Identyfikator", "grade": "Ocena"}
    with pytest.raises(UsageError, match=r"maximum grade.*--max-column"):
        export_moodle(ada, sheet, tmp_path / "out", named)
    named.update(max="Maksymalna ocena", feedback="Komentarz zwrotny", name="Imię i nazwisko")
    done = export_moodle(ada, sheet, tmp_path / "out", named)
    got = _read(tmp_path / "out" / "moodle_worksheet.csv")
    assert got[1][4] == "17,00" and got[1][8] == "-"
    assert "1 grade(s) changed: Ada Lovelace_7 (blank -> 17)" in done.lines()


TEAM = ["Identifier", "Full name", "Email address", "Status", "Group", "Grade", "Maximum Grade",
        "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
        "Feedback comments"]  # fmt: skip


def _team_rows() -> list[list[str]]:
    def row(pid: str, name: str, team: str, grade: str = "") -> list[str]:
        return [f"Participant {pid}", name, "x@x", "Submitted", team, grade, "100.00", "Yes",
                "Monday", "-", ""]  # fmt: skip

    return [TEAM, row("77", "Zoe Unrelated", "Team Beta", "42.00"),
            row("3", "Ann Alpha", "Team Alpha"), row("4", "Al Alpha", "Team Alpha"),
            row("8", "Bo Li", "Team Gamma")]  # fmt: skip


def test_a_team_download_grades_every_member_and_nobody_else(tmp_path: Path) -> None:
    """#33.5: Team Alpha's folder carries its group id (77), which is Zoe's participant id;
    with the worksheet's Group column the team's grade, comment and page go to its members
    (3 and 4) and Zoe keeps her 42. Moodle's importer, applied to the file, agrees."""
    from tests.moodle_importer import imports

    team = _graded(tmp_path, "Team_Alpha_77_assignsubmission_file_", 90)
    gamma = _graded(tmp_path, "Team Gamma_12_assignsubmission_file_", 60)
    done = export_moodle([team, gamma], _sheet(tmp_path, _team_rows()), tmp_path / "out", {})
    got = _read(tmp_path / "out" / "moodle_worksheet.csv")
    assert [r[5] for r in got[1:]] == ["42.00", "90.00", "90.00", "60.00"]
    assert got[1][10] == "" and got[2][10].startswith("Score: 90") and got[3][10] == got[2][10]
    assert not done.refused and not done.unmatched
    assert "Participant 3 (Team_Alpha)" in " ".join(done.changed)
    filled = (tmp_path / "out" / "moodle_worksheet.csv").read_text(encoding="utf-8")
    held = {"77": (42.0, 0.0), "3": (None, 0.0), "4": (None, 0.0), "8": (None, 0.0)}
    assert imports(filled, held, maximum=100) == {"3": 90.0, "4": 90.0, "8": 60.0}
    with zipfile.ZipFile(tmp_path / "out" / "moodle_feedback.zip") as z:
        folders = sorted(n.split("/")[0] for n in z.namelist())
    assert folders == ["Al Alpha_4_assignsubmission_file_", "Ann Alpha_3_assignsubmission_file_",
                       "Bo Li_8_assignsubmission_file_"]  # fmt: skip


def test_a_team_download_never_grades_an_unrelated_participant(tmp_path: Path) -> None:
    """#33.5: without a Group column the team's folder cannot be mapped: participant 77 is
    someone else, so nothing is filled, nor is a page filed under 77."""
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
    with zipfile.ZipFile(tmp_path / "out" / "moodle_feedback.zip") as z:
        assert [n.split("/")[0] for n in z.namelist()] == ["Bo Li_8_assignsubmission_file_"]


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
