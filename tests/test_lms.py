"""LMS exports: safe extraction, Canvas and Moodle layouts, identities."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from graders.intake.discover import discover
from graders.intake.lms_names import ArchiveError, extract

NB = '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def _zip(
    path: Path, entries: dict[str, bytes | str], compression: int = zipfile.ZIP_DEFLATED
) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_unsafe_entries_never_leave_the_work_area(tmp_path: Path) -> None:
    arc = tmp_path / "evil.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        zf.writestr("../escape.py", "x = 1")
        zf.writestr("/abs/escape.py", "x = 1")
        zf.writestr("a/../../escape2.py", "x = 1")
        zf.writestr("C:/win.py", "x = 1")
        link = zipfile.ZipInfo("link.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("ok/alice.ipynb", NB)
    dest = tmp_path / "dest"
    dest.mkdir()
    ex = extract(arc, dest)
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == [
        "ok/alice.ipynb"
    ]
    assert not (tmp_path / "escape.py").exists() and not (tmp_path / "escape2.py").exists()
    assert len(ex.skipped) == 5 and all("not extracted" in why for _, why in ex.skipped)


def test_bombs_corrupt_and_non_zips_are_reported(tmp_path: Path) -> None:
    bomb = _zip(tmp_path / "bomb.zip", {"big.ipynb": b"\0" * (50 * 2**20)})
    with pytest.raises(ArchiveError, match="zip bomb"):
        extract(bomb, tmp_path / "d1")
    (tmp_path / "fake.zip").write_bytes(b"this is not a zip")
    with pytest.raises(ArchiveError, match="not a readable zip"):
        extract(tmp_path / "fake.zip", tmp_path / "d2")
    good = _zip(tmp_path / "cut.zip", {"a.ipynb": NB * 100}).read_bytes()
    (tmp_path / "cut.zip").write_bytes(good[: len(good) // 2])
    with pytest.raises(ArchiveError):
        extract(tmp_path / "cut.zip", tmp_path / "d3")
    # through discover: each becomes an ungradable submission with the reason, not a crash
    found = discover([tmp_path / "bomb.zip", tmp_path / "fake.zip", tmp_path / "cut.zip"])
    assert [s.gradable for s in found.submissions] == [False, False, False]
    assert "zip bomb" in found.submissions[0].problem
    found.cleanup()


def test_canvas_names_late_markers_and_resubmissions(tmp_path: Path) -> None:
    arc = _zip(tmp_path / "submissions.zip", {
        "smithjane_1001_5001_intro_ann.ipynb": NB,
        "smithjane_1001_5002_intro_ann-1.ipynb": NB,
        "smithjane_1001_5003_intro_ann-2.ipynb": NB.replace('{}', '{"v": 2}'),
        "doejohn_late_1002_5004_hw.py": "x = 1\n",
        "leeann_1003_5005_notes.txt": "not code",
    })  # fmt: skip
    found = discover([arc])
    subs = {s.student_id: s for s in found.submissions}
    assert set(subs) == {"1001", "1002", "1003"}
    jane = subs["1001"]
    assert jane.student == "smithjane" and jane.id == "smithjane_1001"
    assert jane.path.name.endswith("intro_ann-2.ipynb") and "latest of 3 files" in jane.note
    assert subs["1002"].note == "marked late by Canvas" and subs["1002"].kind == "module"
    assert not subs["1003"].gradable and "not a notebook" in subs["1003"].problem
    found.cleanup()
    assert not jane.path.exists()


def test_moodle_folders(tmp_path: Path) -> None:
    arc = _zip(tmp_path / "moodle.zip", {
        "Jane Smith_4242_assignsubmission_file_/intro_ann.ipynb": NB,
        "Jane Smith_4242_assignsubmission_file_/data.csv": "1,2\n",
        "Bo Li_4343_assignsubmission_file_/hw.py": "x = 1\n",
    })  # fmt: skip
    found = discover([arc])
    subs = {s.student_id: s for s in found.submissions}
    assert subs["4242"].student == "Jane Smith" and subs["4242"].id == "Jane_Smith_4242"
    assert set(subs["4242"].extra) == {"data.csv"}
    assert subs["4343"].kind == "module"
    found.cleanup()


def test_any_other_zip_is_a_folder(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("class/alice.ipynb", NB)
        zf.writestr("class/bob.py", "x = 1\n")
    (tmp_path / "plain.zip").write_bytes(buf.getvalue())
    found = discover([tmp_path / "plain.zip"])
    assert [s.id for s in found.submissions] == ["alice", "bob"]  # below the one top folder
    found.cleanup()


GRADESCOPE_META = """\
submission_111:
  :submitters:
  - :name: Jane Smith
    :sid: '1001'
    :email: jane@example.edu
  :created_at: 2026-11-20 10:00:00.000000000 -08:00
  :score: 0.0
submission_222:
  :submitters:
  - :name: Jane Smith
    :sid: '1001'
    :email: jane@example.edu
  :created_at: 2026-11-21 09:30:00.000000000 -08:00
submission_333:
  :submitters:
  - :name: Bo Li
    :sid:
    :email: bo@example.edu
  - :name: Cy Twombly
    :sid: '1003'
    :email: cy@example.edu
  :created_at: 2026-11-20 12:00:00.000000000 -08:00
submission_444:
  :submitters:
  - :name: Dee Dee
    :sid: '1004'
  :created_at: 2026-11-20 12:00:00.000000000 -08:00
"""


def test_gradescope_export_zip_and_folder(tmp_path: Path) -> None:
    top = "assignment_987_export/"
    arc = _zip(tmp_path / "submissions.zip", {
        top + "submission_metadata.yml": GRADESCOPE_META,
        top + "submission_111/intro_ann.ipynb": NB,
        top + "submission_222/intro_ann.ipynb": NB.replace("{}", '{"v": 2}'),
        top + "submission_333/hw.py": "x = 1\n",
        top + "submission_555/stray.ipynb": NB,
    })  # fmt: skip
    found = discover([arc])
    subs = {s.student_id: s for s in found.submissions}
    assert set(subs) == {"1001", "bo@example.edu", "1003"}
    jane = subs["1001"]  # two submissions: the later one counts, and the report says so
    assert jane.student == "Jane Smith" and jane.id == "Jane_Smith_1001"
    assert jane.path.parent.name == "submission_222" and b'"v": 2' in jane.data
    assert "latest of 2 submissions" in jane.note and "submission_111" in jane.note
    # a group submission is graded for each member, each told who the group was
    assert (
        subs["bo@example.edu"].kind == "module" and "with Cy Twombly" in subs["bo@example.edu"].note
    )
    assert subs["1003"].student == "Cy Twombly" and "with Bo Li" in subs["1003"].note
    skipped = dict(found.skipped)
    assert any("submission_444" in k and "folder is missing" in v for k, v in skipped.items())
    assert any("submission_555" in k and "not listed" in v for k, v in skipped.items())
    found.cleanup()

    # the same export, unzipped by the instructor first
    folder = tmp_path / "unzipped"
    extract(arc, folder)
    again = discover([folder])
    assert {s.student_id for s in again.submissions} == {"1001", "bo@example.edu", "1003"}


def test_gradescope_bad_metadata_is_reported(tmp_path: Path) -> None:
    arc = _zip(tmp_path / "gs.zip", {
        "submission_metadata.yml": "submission_1: [unclosed",
        "submission_1/a.ipynb": NB,
    })  # fmt: skip
    found = discover([arc])
    [sub] = found.submissions
    assert not sub.gradable and "not valid YAML" in sub.problem
    found.cleanup()
