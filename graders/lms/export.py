"""Grades and feedback back to an LMS, from a finished reports folder: what the exporters
(:mod:`.export_canvas`, :mod:`.export_moodle`) share. They read ``report.json`` files and the
LMS's own files; they never regrade and never change a score.

A report with status ``error`` (the harness failed, not the student) is never exported: its
student keeps whatever grade the LMS has, and the summary lists it. An ungradable one gets no
grade, and its reason as the comment.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..intake.lms_names import CanvasName, canvas_name


@dataclass(frozen=True)
class Graded:
    """One finished report and the folder that holds its files."""

    report: dict[str, Any]
    folder: Path

    @property
    def id(self) -> str:
        return str(self.report["submission"]["id"])

    @property
    def student_id(self) -> str:
        return str(self.report["submission"].get("student_id") or "")

    @property
    def student(self) -> str:
        return str(self.report["submission"].get("student") or self.id)

    @property
    def status(self) -> str:
        return str(self.report["status"])

    @property
    def source_name(self) -> str:
        """The file's name as the LMS download had it: after the last slash, and after the
        ``archive.zip:`` that names a zip's entry (a ``:`` in the file's own name stays: it
        must not move the ids read from it to another student)."""
        path = str(self.report["submission"].get("path", ""))
        return re.sub(r"^[^/]*?\.zip:", "", path, flags=re.I).rsplit("/", 1)[-1]

    @property
    def canvas(self) -> CanvasName | None:
        """The Canvas ids in the downloaded file's name (lms.canvas_name)."""
        return canvas_name(self.source_name)

    def feedback_page(self) -> bytes:
        """feedback.html: self-contained (inline styles and plots, no network)."""
        return (self.folder / "feedback.html").read_bytes()

    def points(self, out_of: float | None) -> float | None:
        """The score on the LMS's scale (``out_of`` points), None when there is none to give."""
        if self.status != "graded":
            return None
        score, most = float(self.report["score"]), float(self.report["max_score"])
        return score if not out_of or not most else round(score * out_of / most, 2)


@dataclass
class Exported:
    """What an export did, for the instructor's summary: a person checks it at a glance."""

    written: list[Path] = field(default_factory=list)
    column: str = ""  # the LMS column filled
    changed: list[str] = field(default_factory=list)  # a new grade, different from the cell's
    same: list[str] = field(default_factory=list)  # the new grade is the one already there
    kept: list[str] = field(default_factory=list)  # no new grade: the cell left as it was
    unmatched: list[str] = field(default_factory=list)  # reports with no row in the LMS file
    held_back: list[str] = field(default_factory=list)  # status error: nothing written
    refused: list[str] = field(default_factory=list)  # a grade outside what the LMS takes
    notes: list[str] = field(default_factory=list)

    @property
    def graded(self) -> int:
        return len(self.changed) + len(self.same)

    def record(
        self, g: Graded | None, value: float | None, who: str, before: str = "",
        old: float | None = None,
    ) -> None:  # fmt: skip
        """Count one student row of the LMS's file: held back (the grader failed on it), kept
        (no report, or no grade in it), the same grade again, or changed."""
        if g is not None and g.status == "error":
            self.held_back.append(g.id)
        elif value is None:
            self.kept.append(who)
        elif old is not None and round(old, 2) == round(value, 2):
            self.same.append(who)
        else:
            self.changed.append(f"{who} ({before.strip() or 'blank'} -> {value:g})")

    def match(self, reports: list[Graded], ids: set[str]) -> None:
        """Note the reports whose student is not among the LMS file's ``ids``."""
        self.unmatched += [g.id for g in reports if g.student_id and g.student_id not in ids]
        if plain := sum(1 for g in reports if not g.student_id):
            self.notes.append(f"{plain} report(s) came from plain files, not an LMS download: "
                              "no student id to match")  # fmt: skip

    def lines(self) -> list[str]:
        out = [f"wrote {p}" for p in self.written]
        if self.column:
            out.append(f"column filled: {self.column}")
        out.append(f"{len(self.changed)} grade(s) changed" + (
            ": " + ", ".join(self.changed) if self.changed else ""))  # fmt: skip
        if self.same:
            out.append(f"{len(self.same)} already had that grade: " + ", ".join(self.same))
        if self.kept:
            out.append(f"{len(self.kept)} left as they were (no new grade: no submission or "
                       "ungradable): " + ", ".join(self.kept))  # fmt: skip
        if self.refused:
            out.append(f"{len(self.refused)} refused: " + ", ".join(self.refused))
        if self.unmatched:
            out.append(f"{len(self.unmatched)} report(s) match no student in the LMS file: "
                       + ", ".join(self.unmatched))  # fmt: skip
        if self.held_back:
            out.append(f"{len(self.held_back)} held back (the grader failed on them; regrade "
                       "first): " + ", ".join(self.held_back))  # fmt: skip
        return out + [f"note: {n}" for n in self.notes]


def load_reports(folder: Path) -> list[Graded]:
    """Every ``<id>/report.json`` below a reports folder (``grader grade --out``)."""
    found = sorted(folder.glob("*/report.json"))
    if not found:
        raise UsageError(f"{folder} holds no <submission>/report.json: pass a `grader grade --out` "
                         "folder")  # fmt: skip
    return [Graded(json.loads(p.read_text()), p.parent) for p in found]


def comment(g: Graded) -> str:
    """A short text for the LMS's comment box: the score, what to fix first, named mistakes.
    The feedback page, attached beside it, has the rest."""
    r = g.report
    if g.status == "ungradable":
        return f"Your submission could not be graded: {r.get('reason') or 'no reason given'}."
    lost = [t for t in r["tests"] if t["score"] < t["max_score"]]
    text = f"Score: {r['score']:g}/{r['max_score']:g}."
    stubs = list(dict.fromkeys(t["stub"] for t in lost))
    if stubs:
        text += " Fix first: " + ", ".join(stubs[:4]) + ("..." if len(stubs) > 4 else "") + "."
    mistakes = [m.get("explain", "") for m in r.get("misconceptions", []) if m.get("explain")]
    for explain in mistakes[:3]:
        text += f" {explain}."
    return text + " Details in the attached feedback page."


def read_csv(path: Path) -> tuple[list[list[str]], str]:
    """A spreadsheet an LMS exported (UTF-8, with or without a byte-order mark): its rows and
    the delimiter it used."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it as a UTF-8 CSV file ({exc})") from exc
    try:
        delimiter = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t").delimiter
    except (csv.Error, IndexError):
        delimiter = ","
    # an online-text submission can hold more than csv's default 131,072 characters a field
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
    if not rows:
        raise UsageError(f"{path} is empty")
    return rows, delimiter


def write_pages(path: Path, pages: dict[str, bytes], done: Exported) -> None:
    """The zip of feedback pages the LMS takes, when there is any page to put in it."""
    if not pages:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in pages.items():
            zf.writestr(name, data)
    done.written.append(path)


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path
