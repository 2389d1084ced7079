"""Real-world inputs, no kernel: notebooks from other tools and versions, odd encodings, hand-
made archives, attachments. Each is read or refused with a reason a student can act on."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat import v3
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from graders.intake import notebook
from graders.intake.discover import discover, load_file, load_with_siblings
from graders.report.pages import gradebook_csv

CODE = "def f(x):\n    return 2 * x\n"


def _v4(*cells: dict[str, object], **meta: object) -> str:
    raw = json.loads(nbformat.writes(new_notebook(cells=[new_code_cell(CODE)])))
    raw["cells"].extend(cells)
    raw["metadata"].update(meta)
    return json.dumps(raw, ensure_ascii=False)


def test_a_zip_made_by_os_walk_with_a_dot_entry(tmp_path: Path) -> None:
    src = tmp_path / "hw"
    src.mkdir()
    (src / "alice.ipynb").write_text(_v4())
    arc = tmp_path / "class.zip"
    old = os.getcwd()
    os.chdir(src)
    try:  # the usual loop: it writes "./" and "./alice.ipynb"
        with zipfile.ZipFile(arc, "w") as zf:
            for root, _, files in os.walk("."):
                zf.write(root)
                for name in files:
                    zf.write(os.path.join(root, name))
    finally:
        os.chdir(old)
    found = discover([arc])
    assert [s.id for s in found.submissions] == ["alice"]
    assert found.submissions[0].gradable
    assert all("not extracted" in why for _, why in found.skipped), found.skipped


def test_nbformat_2_and_3_are_upgraded(tmp_path: Path) -> None:
    nb3 = v3.new_notebook(worksheets=[v3.new_worksheet(cells=[v3.new_code_cell(input=CODE)])])
    (tmp_path / "v3.ipynb").write_text(v3.writes_json(nb3))
    raw2 = {
        "nbformat": 2,
        "nbformat_minor": 0,
        "metadata": {"name": "old"},
        "worksheets": [{"cells": [{"cell_type": "code", "input": CODE, "language": "python",
                                   "outputs": [], "collapsed": False}]}],
    }  # fmt: skip
    (tmp_path / "v2.ipynb").write_text(json.dumps(raw2))
    for name in ("v2", "v3"):
        sub = load_file(tmp_path / f"{name}.ipynb")
        assert sub.gradable, sub.problem
        assert f"upgraded from nbformat {name[1]}" in sub.note
        read = notebook.read(sub.data)
        assert read.nb is not None and read.nb.cells[0].source == CODE


def test_encodings_read_or_refused_in_plain_words(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    text = _v4(new_markdown_cell("Größe — “quoted”"))
    (tmp_path / "bom.ipynb").write_bytes(b"\xef\xbb\xbf" + text.encode())
    (tmp_path / "utf16.ipynb").write_bytes(text.encode("utf-16"))  # with its BOM
    (tmp_path / "utf16be.ipynb").write_bytes(text.encode("utf-16-be"))  # without one
    (tmp_path / "cp1252.ipynb").write_bytes(text.encode("cp1252"))
    subs = {s.id: s for s in discover([tmp_path]).submissions}
    assert subs["bom"].gradable and "byte-order mark" in subs["bom"].note
    assert subs["utf16"].gradable and "UTF-16" in subs["utf16"].note
    assert subs["utf16be"].gradable and "UTF-16" in subs["utf16be"].note
    problem = subs["cp1252"].problem
    assert "not UTF-8" in problem and "Windows-1252" in problem and "Save with Encoding" in problem
    assert "codec" not in problem and "not JSON" not in problem
    assert capfd.readouterr().err == ""


def test_odd_cells_are_named_and_the_code_still_graded(tmp_path: Path) -> None:
    odd = [
        {"cell_type": "markdown", "metadata": {}},  # no source
        {"cell_type": "heading", "source": "Old heading", "metadata": {}, "level": 1},
        {"cell_type": "code", "source": ["x = 1\n", "y = 2\n"], "metadata": [], "outputs": []},
    ]
    (tmp_path / "odd.ipynb").write_text(_v4(*odd))
    sub = load_file(tmp_path / "odd.ipynb")
    assert sub.gradable, sub.problem
    assert "cell 2 (a markdown cell without source)" in sub.note
    assert "cell 3 (type 'heading'" in sub.note
    read = notebook.read(sub.data)
    assert read.nb is not None
    assert [c.source for c in read.nb.cells] == [CODE, "x = 1\ny = 2\n"]
    # a code cell without source cannot be graded: the reason names it
    (tmp_path / "bad.ipynb").write_text(_v4({"cell_type": "code", "source": 5, "metadata": {}}))
    assert "cell 2 (a code cell) has no source" in load_file(tmp_path / "bad.ipynb").problem


def test_validation_warnings_go_to_the_submission(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    raw = json.loads(_v4(new_markdown_cell("a"), new_markdown_cell("b")))
    raw["nbformat_minor"] = 5
    for cell in raw["cells"]:
        cell["id"] = "same"  # nbformat warns DuplicateCellId on stderr
    (tmp_path / "dup.ipynb").write_text(json.dumps(raw))
    nb3 = json.loads(v3.writes_json(v3.new_notebook(worksheets=[v3.new_worksheet(
        cells=[v3.new_code_cell(input=CODE)])])))  # fmt: skip
    nb3["worksheets"][0]["cells"][0]["collapsed"] = "no"  # invalid v3
    (tmp_path / "old.ipynb").write_text(json.dumps(nb3))
    subs = {s.id: s for s in discover([tmp_path]).submissions}
    assert subs["dup"].gradable and subs["old"].gradable
    assert "nbformat:" in subs["old"].note and "collapsed" in subs["old"].note
    assert capfd.readouterr().err == ""


def test_other_languages_are_named(tmp_path: Path) -> None:
    spec = {"name": "ir", "display_name": "R", "language": "R"}
    (tmp_path / "r.ipynb").write_text(_v4(kernelspec=spec))
    problem = load_file(tmp_path / "r.ipynb").problem
    assert "written for a R kernel (R)" in problem and "graded in Python" in problem
    julia = {"kernelspec": {"name": "julia-1.10"}, "language_info": {"name": "julia"}}
    (tmp_path / "j.ipynb").write_text(_v4(**julia))
    assert "julia kernel" in load_file(tmp_path / "j.ipynb").problem
    py = {"kernelspec": {"name": "myenv", "language": "python"}}
    (tmp_path / "p.ipynb").write_text(_v4(**py))
    assert load_file(tmp_path / "p.ipynb").gradable


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[1, 2]", "top level is a list"),
        ('"cells"', "top level is a string"),
        ('{"nbformat": 4, "cells": {}}', "no list of cells"),
        ('{"nbformat": 9, "cells": []}', "nbformat 9 is newer"),
        ('{"nbformat": "4", "cells": []}', "no nbformat version"),
        ("[" * 100_000, "nested too deeply"),
        ('{"nbformat": 3, "worksheets": 7}', "nbformat 3 could not be read"),
    ],
)
def test_json_that_is_not_a_notebook(tmp_path: Path, text: str, fragment: str) -> None:
    (tmp_path / "x.ipynb").write_text(text)
    problem = load_file(tmp_path / "x.ipynb").problem
    assert problem.startswith("not a valid notebook") and fragment in problem, problem


def test_ids_keep_letters_of_any_script(tmp_path: Path) -> None:
    arc = tmp_path / "submissions.zip"
    with zipfile.ZipFile(arc, "w") as zf:  # Canvas names
        zf.writestr("øbergåsa_30414_1_hw.ipynb", _v4())
        zf.writestr("李小龍_30415_2_hw.ipynb", _v4())
    ids = sorted(s.id for s in discover([arc]).submissions)
    assert ids == ["øbergåsa_30414", "李小龍_30415"]
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "Alice.ipynb").write_text(_v4())
    (tmp_path / "d" / "alice.py").write_text(CODE)
    ids = sorted(s.id for s in discover([tmp_path / "d"]).submissions)
    assert ids == ["Alice", "alice-2"]  # unique even where case does not count (macOS)
    long = tmp_path / "e" / ("é" * 120 + ".ipynb")
    long.parent.mkdir()
    long.write_text(_v4())
    (ident,) = [s.id for s in discover([long.parent]).submissions]
    assert len(ident.encode()) <= 120 and set(ident) == {"é"}


def test_an_export_keeps_the_files_own_notes(tmp_path: Path) -> None:
    arc = tmp_path / "submissions.zip"
    with zipfile.ZipFile(arc, "w") as zf:  # Canvas: a late resubmission saved with a BOM
        zf.writestr("doejane_late_30414_1_hw.ipynb", _v4())
        zf.writestr("doejane_late_30414_2_hw-1.ipynb", b"\xef\xbb\xbf" + _v4().encode())
    (sub,) = discover([arc]).submissions
    assert "marked late by Canvas" in sub.note and "byte-order mark" in sub.note, sub.note


def test_skipped_entries_are_shown_inside_their_archive(tmp_path: Path) -> None:
    arc = tmp_path / "hw.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        zf.writestr("class/.OTTER_LOG", "x")
        zf.writestr("class/alice.ipynb", _v4())
        zf.writestr("class/bob.ipynb", _v4())
        zf.writestr("class/../escape.py", "x")
    found = discover([arc])
    shown = [path for path, _ in found.skipped]
    assert "hw.zip:class/.OTTER_LOG" in shown and "hw.zip:class/../escape.py" in shown
    assert not any(str(tmp_path) in p or "/tmp/" in p for p in shown), shown
    assert {s.id: s.shown_path for s in found.submissions} == {
        "alice": "hw.zip:class/alice.ipynb",
        "bob": "hw.zip:class/bob.ipynb",
    }


def test_one_students_archive_or_folder_keeps_its_attachments(tmp_path: Path) -> None:
    arc = tmp_path / "alice_hw3.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        zf.writestr("hw3/notebook.ipynb", _v4())
        zf.writestr("hw3/report.pdf", b"%PDF-1.4")
        zf.writestr("hw3/plot.png", b"\x89PNG")
    folder = tmp_path / "bob"
    folder.mkdir()
    (folder / "hw.ipynb").write_text(_v4())
    (folder / "scan.jpg").write_bytes(b"\xff\xd8")
    found = discover([arc, folder])
    subs = {s.id: s for s in found.submissions}
    assert set(subs) == {"alice_hw3", "bob"}, subs
    assert all(s.gradable for s in subs.values())
    assert set(subs["alice_hw3"].extra) == {"report.pdf", "plot.png"}
    assert "2 file(s) beside it" in subs["alice_hw3"].note
    assert set(subs["bob"].extra) == {"scan.jpg"}
    # a folder of several students' notebooks is still a folder of submissions
    (folder / "carol.ipynb").write_text(_v4())
    assert len(discover([folder]).submissions) == 3


def test_check_sees_the_files_grade_sees(tmp_path: Path) -> None:
    folder = tmp_path / "alice"
    (folder / "data").mkdir(parents=True)
    (folder / "hw.ipynb").write_text(_v4())
    (folder / "dataset.csv").write_text("x,y\n1,2\n")
    (folder / "data" / "more.csv").write_text("x\n3\n")
    (folder / "mylib.py").write_text(CODE)
    (folder / ".hidden").write_text("x")
    (graded,) = discover([tmp_path]).submissions  # a folder per student
    checked, _ = load_with_siblings(folder / "hw.ipynb", exclude=(folder / "grader-feedback",))
    assert set(checked.extra) == set(graded.extra) == {"dataset.csv", "data/more.csv", "mylib.py"}
    (folder / "grader-feedback" / "hw").mkdir(parents=True)  # check's own output: left out
    (folder / "grader-feedback" / "hw" / "report.json").write_text("{}")
    checked, _ = load_with_siblings(folder / "hw.ipynb", exclude=(folder / "grader-feedback",))
    assert "grader-feedback/hw/report.json" not in checked.extra


def _report(status: str, score: float) -> dict[str, object]:
    return {
        "status": status, "score": score, "max_score": 100, "tests": [],
        "assignment": {"name": "intro_ann"}, "submission": {"id": status},
    }  # fmt: skip


def test_gradebook_leaves_ungraded_blank_unless_asked() -> None:
    reports = [_report("graded", 0), _report("ungradable", 0), _report("error", 0)]
    rows = {r[0]: r[2] for r in (line.split(",") for line in gradebook_csv(reports).splitlines())}
    assert rows["graded"] == "0" and rows["ungradable"] == "" and rows["error"] == ""
    zero = gradebook_csv(reports, ungradable_score="zero")
    rows = {r[0]: r[2] for r in (line.split(",") for line in zero.splitlines())}
    assert rows["ungradable"] == "0" and rows["error"] == ""
