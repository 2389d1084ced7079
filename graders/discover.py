"""Turn command-line inputs into submissions: files, folders of files, a folder per student."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import lms
from .errors import UsageError

MAX_SUBMISSION_BYTES = 100 * 1024 * 1024
JUNK = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".DS_Store", "Thumbs.db"}


@dataclass
class Submission:
    id: str
    path: Path
    kind: str  # notebook | module | other
    data: bytes = b""
    problem: str = ""  # set when the submission is ungradable
    student: str | None = None  # the name an LMS export gives
    student_id: str | None = None  # the LMS's id for the student (gradebook import key)
    note: str = ""  # e.g. which of several files counted, a late marker
    extra: dict[str, bytes] = field(default_factory=dict)  # files beside it (folder per student)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def gradable(self) -> bool:
        return not self.problem


@dataclass
class Discovery:
    submissions: list[Submission]
    skipped: list[tuple[str, str]]  # (path, reason)
    tempdirs: list[Path] = field(default_factory=list)  # extracted archives; caller removes

    def cleanup(self) -> None:
        for d in self.tempdirs:
            shutil.rmtree(d, ignore_errors=True)


def _safe_id(name: str) -> str:
    ident = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "submission"
    return ident[:80]


def load_file(path: Path, ident: str | None = None) -> Submission:
    ident = ident or _safe_id(path.stem)
    suffix = path.suffix.lower()
    kind = {".ipynb": "notebook", ".py": "module"}.get(suffix, "other")
    if kind == "other":
        return Submission(
            ident, path, kind, problem=f"{path.name} is not a notebook (.ipynb) or module (.py)"
        )
    try:
        size = path.stat().st_size
        if size > MAX_SUBMISSION_BYTES:
            return Submission(
                ident, path, kind, problem=f"{path.name} is too large ({size:,} bytes)"
            )
        data = path.read_bytes()
    except OSError as exc:
        return Submission(ident, path, kind, problem=f"cannot read {path.name}: {exc.strerror}")
    sub = Submission(ident, path, kind, data)
    if kind == "notebook":
        sub.problem = notebook_problem(data)
    else:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            sub.problem = f"{path.name} is not UTF-8 text"
    return sub


def notebook_problem(data: bytes) -> str:
    """Why these bytes are not a notebook we can run, or '' when they are."""
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"not a valid notebook: the file is not JSON ({exc})"
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        return "not a valid notebook: it has no list of cells"
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as exc:
        return f"not a valid notebook: {exc}"
    for cell in nb.cells:
        if not isinstance(cell.get("source"), str):
            return "not a valid notebook: a cell has no source"
    return ""


def discover(inputs: list[Path]) -> Discovery:
    subs: list[Submission] = []
    skipped: list[tuple[str, str]] = []
    tempdirs: list[Path] = []
    for item in inputs:
        if not item.exists():
            raise UsageError(f"{item}: no such file or folder")
        if item.is_file() and item.suffix.lower() == ".zip":
            tmp = Path(tempfile.mkdtemp(prefix="grader-zip-"))
            tempdirs.append(tmp)
            subs.extend(_archive(item, tmp, skipped))
            continue
        if item.is_file():
            subs.append(load_file(item))
            continue
        try:  # an export already unzipped: Gradescope, Canvas or Moodle
            cands = _export_candidates(item, skipped)
        except lms.ArchiveError as exc:
            raise UsageError(f"{item}: {exc}") from None
        if cands is not None:
            subs.extend(_from_candidates(cands, skipped))
            continue
        _folder(item, subs, skipped)
    seen: dict[str, int] = {}
    for s in subs:  # make ids unique: alice.py and alice.ipynb in one folder
        n = seen.get(s.id, 0)
        seen[s.id] = n + 1
        if n:
            s.id = f"{s.id}-{n + 1}"
    return Discovery(subs, skipped, tempdirs)


def _archive(archive: Path, dest: Path, skipped: list[tuple[str, str]]) -> list[Submission]:
    try:
        ex = lms.extract(archive, dest)
    except lms.ArchiveError as exc:
        return [Submission(_safe_id(archive.stem), archive, "other", problem=str(exc))]
    skipped.extend((f"{archive.name}:{name}", why) for name, why in ex.skipped)
    try:
        cands = _export_candidates(dest, skipped)
    except lms.ArchiveError as exc:
        return [Submission(_safe_id(archive.stem), archive, "other", problem=str(exc))]
    if cands is None:  # any other zip: like a folder (below its one top folder, if so)
        root = dest
        entries = list(dest.iterdir())
        if len(entries) == 1 and entries[0].is_dir():
            root = entries[0]
        subs: list[Submission] = []
        _folder(root, subs, skipped)
        return subs
    return _from_candidates(cands, skipped)


def _export_candidates(root: Path, skipped: list[tuple[str, str]]) -> list[lms.Candidate] | None:
    """The students of an LMS export (zip extracted, or a folder), or None if it is none."""
    return (
        lms.gradescope_candidates(root, skipped)
        or lms.canvas_candidates(root)
        or lms.moodle_candidates(root)
    )


def _from_candidates(
    cands: list[lms.Candidate], skipped: list[tuple[str, str]]
) -> list[Submission]:
    out = []
    for c in cands:
        ident = _safe_id(f"{c.student}_{c.student_id}")
        sub = load_file(c.path, ident) if c.path.is_file() else _student_folder(c.path, skipped)
        sub.id = ident
        sub.student, sub.student_id, sub.note = c.student, c.student_id, c.note
        out.append(sub)
    return out


def _folder(item: Path, subs: list[Submission], skipped: list[tuple[str, str]]) -> None:
    for child in sorted(item.iterdir()):
        if child.name in JUNK or child.name.startswith("."):
            skipped.append((str(child), "not a submission (system or hidden file)"))
        elif child.is_file():
            subs.append(load_file(child))
        elif child.is_dir():
            subs.append(_student_folder(child, skipped))


def _student_folder(folder: Path, skipped: list[tuple[str, str]]) -> Submission:
    files = [
        p
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and not any(part in JUNK or part.startswith(".") for part in p.relative_to(folder).parts)
    ]
    for kind in (".ipynb", ".py"):
        found = [p for p in files if p.suffix.lower() == kind]
        if len(found) == 1:
            sub = load_file(found[0], _safe_id(folder.name))
            for p in files:
                if p != found[0] and p.stat().st_size < 10 * 1024 * 1024:
                    sub.extra[str(p.relative_to(folder))] = p.read_bytes()
            return sub
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            return Submission(
                _safe_id(folder.name), folder, "other",
                problem=f"the folder holds several {kind} files ({names}); keep one",
            )  # fmt: skip
    return Submission(
        _safe_id(folder.name), folder, "other", problem="the folder holds no .ipynb or .py file"
    )
