"""Grades and feedback back through Canvas and Moodle, from the scenario run's reports (graded
once per session): the files each LMS imports, checked column by column against the formats
Canvas and Moodle write and read (see graders/lms/canvas.py and export_moodle.py). No live
Canvas or Moodle is run here."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import GradedRun, run_grader

pytestmark = pytest.mark.kernel

ASSIGNMENT = "intro_ann (4242)"
GRADEBOOK = [
    ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Quiz 1 (101)", ASSIGNMENT,
     "Project (103)", "Current Score", "Final Score"],
    ["    Points Possible", "", "", "", "", "10", "50", "20", "(read only)", "(read only)"],
    ["Smith, Jane", "1001", "S1001", "jsmith", "ML 101", "9", "", "18", "90", "90"],
    ["Doe, John", "1002", "S1002", "jdoe", "ML 101", "7", "", "", "70", "70"],
    ["Nobody, Nora", "1003", "S1003", "nnobody", "ML 101", "8", "", "15", "80", "80"],
]  # fmt: skip


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def _export(graded: GradedRun, lms: str, sheet: list[list[str]], out: Path) -> str:
    """``grader export LMS`` of the scenario run with ``sheet`` as the LMS's file; stdout."""
    book = _write(out.parent / f"{lms}-download.csv", sheet)
    flag = "--gradebook" if lms == "canvas" else "--worksheet"
    args = ["export", lms, str(graded.out), flag, str(book), "--out", str(out)]
    proc = run_grader(args, graded.home, graded.cache)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_canvas_gradebook_and_reupload_zip(graded: GradedRun, tmp_path: Path) -> None:
    out = tmp_path / "canvas"
    printed = _export(graded, "canvas", GRADEBOOK, out)
    rows = _read(out / "canvas_import.csv")
    # Canvas's student columns and the one assignment column (found by its name), nothing else
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    assert rows[1] == ["    Points Possible", "", "", "", "", "50"]
    # out of the column's 50 points: 100/100 -> 50, 70/100 -> 35; no submission: as it was
    assert [r[1] for r in rows[2:]] == ["1001", "1002", "1003"]
    assert [r[-1] for r in rows[2:]] == ["50", "35", ""]
    assert rows[2][:5] == GRADEBOOK[2][:5]
    assert (
        "1 left as they were (no new grade: no submission or ungradable): Nobody, Nora" in printed
    )
    assert "column filled: intro_ann (4242)" in printed
    assert "Ada_Lovelace_4242" in printed  # a Moodle report: no Canvas student
    # the re-upload zip: each page named with the prefix of the file the student handed in
    with zipfile.ZipFile(graded.home / "exports" / "canvas.zip") as zf:
        downloaded = set(zf.namelist())
    with zipfile.ZipFile(out / "canvas_feedback.zip") as zf:
        names = sorted(zf.namelist())
        page = zf.read("smithjane_1001_5002_feedback.html")
    assert names == ["doejohn_late_1002_5003_feedback.html", "smithjane_1001_5002_feedback.html"]
    for name in names:
        prefix = name.removesuffix("_feedback.html") + "_"
        assert any(d.startswith(prefix) for d in downloaded), (name, downloaded)
    assert page == (graded.out / "smithjane_1001" / "feedback.html").read_bytes()


def test_canvas_asks_when_it_cannot_tell_the_column(graded: GradedRun, tmp_path: Path) -> None:
    rows = [[h.replace(ASSIGNMENT, "Homework 2 (4242)") for h in r] for r in GRADEBOOK]
    book = _write(tmp_path / "export.csv", rows)
    args = ["export", "canvas", str(graded.out), "--gradebook", str(book), "--out",
            str(tmp_path / "c")]  # fmt: skip
    unsure = run_grader(args, graded.home, graded.cache)
    assert unsure.returncode == 2 and "Pass --assignment" in unsure.stderr
    assert "Homework 2 (4242)" in unsure.stderr
    chosen = run_grader([*args, "--assignment", "4242"], graded.home, graded.cache)
    assert chosen.returncode == 0, chosen.stderr
    assert _read(tmp_path / "c" / "canvas_import.csv")[0][-1] == "Homework 2 (4242)"


def test_moodle_worksheet_in_german(graded: GradedRun, tmp_path: Path) -> None:
    """A worksheet downloaded in German: headers and the decimal comma as Moodle writes them
    there; Ada (63) and Bo (100) come from the Moodle download's participant folders."""
    header = ["ID", "Vollständiger Name", "E-Mail-Adresse", "Status", "Bewertung",
              "Bestwertung", "Bewertung kann geändert werden", "Zuletzt geändert (Abgabe)",
              "Zuletzt geändert (Bewertung)", "Feedback als Kommentar"]  # fmt: skip
    sheet = [
        header,
        ["Teilnehmer/in4242", "Ada Lovelace", "ada@x.org", "Abgegeben", "", "100,00", "Ja",
         "Montag, 30. November 2026, 10:00", "-", ""],
        ["Teilnehmer/in4343", "Bo Li", "bo@x.org", "Abgegeben", "", "100,00", "Ja",
         "Montag, 30. November 2026, 11:00", "-", ""],
        ["Teilnehmer/in4444", "Cy Ng", "cy@x.org", "Keine Abgabe", "", "100,00", "Ja", "-", "-",
         ""],
    ]  # fmt: skip
    out = tmp_path / "moodle"
    _export(graded, "moodle", sheet, out)
    rows = _read(out / "moodle_worksheet.csv")
    assert rows[0] == header
    assert [r[4] for r in rows[1:]] == ["63,00", "100,00", ""]
    # everything Moodle compares on import is as it was downloaded
    for got, was in zip(rows[1:], sheet[1:], strict=True):
        assert got[:4] + got[5:9] == was[:4] + was[5:9]
    ada = rows[1][9]
    assert ada.startswith("Score: 63/100. Fix first: ") and "feedback page" in ada
    assert rows[3][9] == ""
    with zipfile.ZipFile(out / "moodle_feedback.zip") as zf:
        names = sorted(zf.namelist())
    assert "Ada Lovelace_4242_assignsubmission_file_/feedback.html" in names
    assert "Bo Li_4343_assignsubmission_file_/feedback.html" in names
    with zipfile.ZipFile(graded.home / "exports" / "moodle.zip") as zf:
        folders = {n.split("/")[0] for n in zf.namelist()}
    assert {n.split("/")[0] for n in names} >= folders


def test_publish_canvas_against_a_local_standin(graded: GradedRun, tmp_path: Path) -> None:
    """Dry run sends nothing; a real run posts each Canvas student's grade (scaled to the
    assignment's points) and one comment with text and page, waiting out two 403 "Rate Limit
    Exceeded"; a second run sends nothing new; the token never travels on the
    command line. Against tests/canvas_standin.py, not a live Canvas."""
    from tests.canvas_standin import TOKEN, serve

    server, state = serve()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        args = ["publish", "canvas", str(graded.out), "--url", url, "--course", "7",
                "--assignment", "4242"]  # fmt: skip
        env = {"CANVAS_TOKEN": TOKEN}
        dry = run_grader([*args, "--dry-run"], graded.home, graded.cache, env_extra=env)
        assert dry.returncode == 0, dry.stdout + dry.stderr
        assert "would send: 2" in dry.stdout and state.writes == []
        first = run_grader(args, graded.home, graded.cache, env_extra=env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert sorted(state.throttled) == ["GET 403", "PUT 403"]
        assert "throttled by Canvas" in first.stdout
        assert state.scores == {"1001": 50.0, "1002": 35.0}
        for user in ("1001", "1002"):
            [posted] = state.comments[user]
            assert posted["comment"].startswith("Score: ")
            [page] = posted["attachments"]
            assert page["display_name"].startswith("feedback-") and page["size"] > 1000
        sent = list(state.writes)
        again = run_grader(args, graded.home, graded.cache, env_extra=env)
        assert again.returncode == 0, again.stderr
        assert state.writes == sent and "already there, nothing sent: 2" in again.stdout
        wrong = run_grader(args, graded.home, graded.cache, env_extra={"CANVAS_TOKEN": "nope"})
        assert wrong.returncode == 2 and "does not accept the token" in wrong.stderr
    finally:
        server.shutdown()
        server.server_close()
