"""`grader export canvas` held to Canvas's own importer rules (#33, Canvas gradebook): every
file the export writes is read back with tests/canvas_importer.py (a transcription of
canvas-lms ``GradebookImporter``), and a test fails when the file would clear, move or
misscale a grade, not only when a column is missing. No kernel: reports are built as
``grader grade`` writes them."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from graders.errors import UsageError
from graders.intake.lms_names import canvas_name
from graders.lms.canvas import export_canvas
from graders.lms.export import Graded
from tests.canvas_importer import changes, parse

HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Quiz 1 (101)",
          "intro_ann (4242)", "Current Score"]  # fmt: skip


def _graded(tmp: Path, name: str, score: float, status: str = "graded") -> Graded:
    """A report as grader grade writes it, for the Canvas download file ``name``."""
    m = canvas_name(name)
    assert m is not None
    folder = tmp / "reports" / f"{m.name}_{m.uid}"
    folder.mkdir(parents=True)
    (folder / "feedback.html").write_text(f"<p>{m.name}</p>")
    report: dict[str, Any] = {
        "submission": {"id": folder.name, "path": f"/downloads/{name}", "student": m.name,
                       "student_id": m.uid},
        "assignment": {"name": "intro_ann", "title": "Intro ANN"},
        "status": status, "score": score, "max_score": 100.0, "tests": [],
    }  # fmt: skip
    return Graded(report, folder)


def _csv(rows: list[list[str]], sep: str = ",", bom: bool = False) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\n").writerows(rows)
    return ("\ufeff" if bom else "") + buf.getvalue()


def _run(tmp: Path, reports: list[Graded], held: str, **kw: Any) -> tuple[str, list[str]]:
    book = tmp / "export.csv"
    book.write_text(held, encoding="utf-8")
    done = export_canvas(reports, book, tmp / "out", **kw)
    return (tmp / "out" / "canvas_import.csv").read_text(encoding="utf-8"), done.lines()


def test_only_newly_graded_students_change(tmp_path: Path) -> None:
    """#33.1: a hand-entered grade, a missing-policy 0, an ungradable and a held-back report
    keep what Canvas has; only Ann's new grade moves."""
    held = _csv([
        HEADER,
        ["    Points Possible", "", "", "", "", "10", "50", "(read only)"],
        ["Ann", "1001", "", "", "ML", "9", "", "90"],
        ["Ben", "1002", "", "", "ML", "7", "42", "70"],  # entered by hand: no new report
        ["Cy", "1003", "", "", "ML", "8", "0", "80"],  # missing policy 0; ungradable now
        ["Di", "1004", "", "", "ML", "8", "31.5", "80"],  # the grader failed on hers
        ["Ed", "1005", "", "", "ML", "8", "-", "80"],
    ])  # fmt: skip
    reports = [
        _graded(tmp_path, "ann_1001_5001_hw.ipynb", 80),
        _graded(tmp_path, "cy_1003_5003_hw.ipynb", 0, "ungradable"),
        _graded(tmp_path, "di_1004_5004_hw.ipynb", 0, "error"),
    ]
    upload, lines = _run(tmp_path, reports, held)
    assert changes(held, upload) == {("1001", "4242"): ("", "40")}
    assert parse(upload).assignments == {"4242": 5}  # the one column, found by its name
    assert "column filled: intro_ann (4242)" in lines
    assert "1 grade(s) changed: Ann (blank -> 40)" in lines
    assert any(line.startswith("3 left as they were") and "Ben" in line for line in lines)
    assert any("held back" in line and "di_1004" in line for line in lines)


def test_a_german_export_scales_with_its_own_decimal_comma(tmp_path: Path) -> None:
    """#33.2: `;`, a BOM and `12,5` points: 80/100 is 10 points, written as Canvas reads it."""
    rows = [HEADER, ["    Points Possible", "", "", "", "", "10", "12,5", "(read only)"],
            ["Ann", "1001", "", "", "ML", "9", "", "90"], ["Ben", "1002", "", "", "ML", "7",
            "3,75", "70"]]  # fmt: skip
    held = _csv(rows, ";", bom=True)
    reports = [_graded(tmp_path, "ann_1001_5001_hw.ipynb", 80),
               _graded(tmp_path, "ben_1002_5002_hw.ipynb", 30)]  # fmt: skip
    upload, _ = _run(tmp_path, reports, held)
    assert ";" in upload.splitlines()[0]
    assert changes(held, upload) == {("1001", "4242"): ("", "10")}  # Ben: 3,75 == 3.75
    assert parse(upload).points == {"4242": "12.5"}


def test_the_column_is_never_guessed_by_substring(tmp_path: Path) -> None:
    """#33.3: only an exact name or id, or the one column named as the assignment."""
    header = [*HEADER[:6], "intro_ann extra credit (4300)", "Current Score"]
    held = _csv([header, ["    Points Possible", "", "", "", "", "10", "5", ""],
                 ["Ann", "1001", "", "", "ML", "9", "", "90"]])  # fmt: skip
    reports = [_graded(tmp_path, "ann_1001_5001_hw.ipynb", 80)]
    with pytest.raises(UsageError, match="no column is named 'Intro ANN'"):
        _run(tmp_path, reports, held)
    held = held.replace("intro_ann extra credit (4300)", "Intro ANN (4300)")
    upload, lines = _run(tmp_path, reports, held)
    assert "column filled: Intro ANN (4300)" in lines
    assert changes(held, upload) == {("1001", "4300"): ("", "4")}
    upload, lines = _run(tmp_path, reports, held, assignment="101")
    assert "column filled: Quiz 1 (101)" in lines


def test_canvas_names_are_read_as_canvas_reads_them(tmp_path: Path) -> None:
    """#33.4 and #33.14: more underscores in a name, a colon in a file's own name."""
    m = canvas_name("de_la_cruzmaria_48213_1093311_hw.ipynb")
    assert m is not None and (m.name, m.uid, m.sid, m.file) == (
        "de_la_cruzmaria",
        "48213",
        "1093311",
        "hw.ipynb",
    )
    m = canvas_name("doejohn_LATE_1002_5003_hw-1.ipynb")
    assert m is not None and m.late and m.uid == "1002"
    zoe = _graded(tmp_path, "zoe_1002_6000_x:smithjane_1001_5002_hw.ipynb", 0)
    assert zoe.canvas is not None and zoe.canvas.uid == "1002"
    zoe.report["submission"]["path"] = "canvas.zip:zoe_1002_6000_x:smithjane_1001_5002_hw.ipynb"
    assert zoe.canvas is not None and zoe.canvas.uid == "1002"
    evil = _graded(tmp_path, "..\\..\\evil_1003_7000_hw.ipynb", 50)
    held = _csv([HEADER, ["    Points Possible", "", "", "", "", "10", "50", ""],
                 ["Zoe", "1002", "", "", "ML", "", "", ""],
                 ["Evil", "1003", "", "", "ML", "", "", ""]])  # fmt: skip
    _run(tmp_path, [zoe, evil], held)
    with zipfile.ZipFile(tmp_path / "out" / "canvas_feedback.zip") as zf:
        names = sorted(zf.namelist())
    assert names == [".._.._evil_1003_7000_feedback.html", "zoe_1002_6000_feedback.html"]


def test_an_import_that_changes_nobody_is_not_written(tmp_path: Path) -> None:
    """#33.4: reports whose ids match nobody in the gradebook write nothing at all."""
    held = _csv([HEADER, ["    Points Possible", "", "", "", "", "10", "50", ""],
                 ["Ann", "1001", "", "", "ML", "9", "45", "90"]])  # fmt: skip
    stranger = _graded(tmp_path, "stranger_9999_1_hw.ipynb", 100)
    with pytest.raises(UsageError, match="no grade in 'intro_ann \\(4242\\)' would change"):
        _run(tmp_path, [stranger], held)
    assert not (tmp_path / "out").exists()


def test_unreadable_points_possible_is_refused(tmp_path: Path) -> None:
    """#33.15: `nan` (or no Points Possible at all) never writes unscaled or nan grades."""
    reports = [_graded(tmp_path, "ann_1001_5001_hw.ipynb", 80)]
    for points in ("nan", "", "0"):
        held = _csv([HEADER, ["    Points Possible", "", "", "", "", "10", points, ""],
                     ["Ann", "1001", "", "", "ML", "9", "", "90"]])  # fmt: skip
        with pytest.raises(UsageError, match="Points Possible"):
            _run(tmp_path, reports, held)


def test_a_colon_in_a_zip_entry_is_a_name_not_a_drive(tmp_path: Path) -> None:
    """#33.14: from a zip the colon file was skipped as an "unsafe path (drive)"; C:x still is."""
    from graders.intake.lms_names import extract

    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zoe_1002_6000_x:smithjane_1001_5002_hw.ipynb", "{}")
        zf.writestr("C:evil_1003_7000_hw.ipynb", "{}")
    (tmp_path / "x").mkdir()
    done = extract(archive, tmp_path / "x")
    assert [p.name for p in (tmp_path / "x").iterdir()] == [
        "zoe_1002_6000_x:smithjane_1001_5002_hw.ipynb"
    ]
    assert [name for name, _ in done.skipped] == ["C:evil_1003_7000_hw.ipynb"]
