"""Turn command-line inputs into submissions: files, folders of files, a folder per student."""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from . import lms_names as lms
from . import notebook
from . import rules as intake

MAX_SUBMISSION_BYTES = 100 * 1024 * 1024
JUNK = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".DS_Store", "Thumbs.db"}
CODE = (".ipynb", ".py")
# What travels into the sandbox beside a student's notebook (data files, helper modules).
MAX_EXTRA_FILE = 10 * 1024 * 1024
MAX_EXTRA_TOTAL = 200 * 1024 * 1024
MAX_EXTRA_FILES = 1000


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
    origin: str = ""  # where it came from, as the user knows it ("export.zip:alice/hw.ipynb")

    def add_note(self, text: str) -> None:
        self.note = f"{self.note}; {text}" if self.note else text

    @property
    def shown_path(self) -> str:
        return self.origin or str(self.path)

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
    """A folder name for the student's reports: letters of any script, digits, '.', '-' and
    '_' kept (``øbergåsa`` stays ``øbergåsa``), anything else one '_'; at most 120 bytes."""
    ident = re.sub(r"[^\w.-]+", "_", unicodedata.normalize("NFC", name)).strip("._")
    ident = ident or "submission"
    while len(ident.encode("utf-8")) > 120:
        ident = ident[:-1]
    return ident


def load_file(
    path: Path, ident: str | None = None, root: Path | None = None, given: bool = False
) -> Submission:
    """One notebook or module. ``root``: the student's folder it lies in (a link is read
    only to a regular file inside it); ``given``: a path the user named on the command line,
    whose links are theirs to follow."""
    ident = ident or _safe_id(path.stem)
    suffix = path.suffix.lower()
    kind = {".ipynb": "notebook", ".py": "module"}.get(suffix, "other")
    if kind == "other":
        return Submission(
            ident, path, kind, problem=f"{path.name} is not a notebook (.ipynb) or module (.py)"
        )
    try:
        data = intake.read_regular(path.resolve() if given else path, MAX_SUBMISSION_BYTES, root)
    except intake.TooLarge as exc:
        return Submission(ident, path, kind, problem=f"{path.name} is {exc.strerror}")
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        if intake.kind_of(path) == "link":
            why = intake.refused_link(path)
        return Submission(ident, path, kind, problem=f"cannot read {path.name}: {why}")
    sub = Submission(ident, path, kind, data)
    if kind == "notebook":
        read = notebook.read(data)
        sub.problem = read.problem
        for note in read.notes:
            sub.add_note(note)
    else:
        text, how, problem = notebook.decode(data, path.name)
        if text is None:
            sub.problem = problem
        elif how:  # Python reads its modules as UTF-8
            sub.data = text.encode("utf-8")
            sub.add_note(how)
    return sub


def discover(inputs: list[Path]) -> Discovery:
    subs: list[Submission] = []
    skipped: list[tuple[str, str]] = []
    tempdirs: list[Path] = []
    for item in inputs:
        if not item.exists():
            raise UsageError(f"{item}: no such file or folder")
        if item.is_file() and item.suffix.lower() == ".zip":
            subs.extend(_unzip(item, skipped, tempdirs))
            continue
        if item.is_file():
            subs.append(load_file(item, given=True))
            continue
        try:  # an export already unzipped: Gradescope, Canvas or Moodle
            cands = _export_candidates(item, skipped)
        except lms.ArchiveError as exc:
            raise UsageError(f"{item}: {exc}") from None
        if cands is not None:
            subs.extend(_from_candidates(cands, skipped))
            continue
        _folder(item, subs, skipped, tempdirs=tempdirs)
    intake.unique_ids(subs)  # alice.py and alice.ipynb, Alice and alice, gradebook.csv.ipynb
    return Discovery(subs, skipped, tempdirs)


def _unzip(archive: Path, skipped: list[tuple[str, str]], tempdirs: list[Path]) -> list[Submission]:
    tmp = Path(tempfile.mkdtemp(prefix="grader-zip-"))
    tempdirs.append(tmp)
    return _archive(archive, tmp, skipped)


def _archive(archive: Path, dest: Path, skipped: list[tuple[str, str]]) -> list[Submission]:
    """The submissions in a zip; every path shown to the user is the one inside the zip."""
    try:
        ex = lms.extract(archive, dest)
    except lms.ArchiveError as exc:
        return [Submission(_safe_id(archive.stem), archive, "other", problem=str(exc))]
    skipped.extend((f"{archive.name}:{name}", why) for name, why in ex.skipped)
    inner: list[tuple[str, str]] = []
    try:
        subs = _archive_submissions(archive, dest, inner)
    except lms.ArchiveError as exc:
        subs = [Submission(_safe_id(archive.stem), archive, "other", problem=str(exc))]
    where = str(dest)

    def shown(path: str) -> str:
        if path == where or path.startswith(where + "/"):
            return f"{archive.name}:{path[len(where) + 1 :] or '.'}"
        return path

    skipped.extend((shown(path), why) for path, why in inner)
    for sub in subs:
        sub.origin = shown(str(sub.path))
    if not subs:  # the archive itself gets a report: the student sees why nothing was graded
        why = "the archive holds no notebook (.ipynb) or module (.py)"
        return [Submission(_safe_id(archive.stem), archive, "other", problem=why)]
    return subs


def _archive_submissions(
    archive: Path, dest: Path, skipped: list[tuple[str, str]]
) -> list[Submission]:
    cands = _export_candidates(dest, skipped)
    if cands is not None:
        return _from_candidates(cands, skipped)
    # any other zip: like a folder (below its one top folder, if so)
    root = dest
    entries = list(dest.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        root = entries[0]
    subs: list[Submission] = []
    _folder(root, subs, skipped, archive.stem)
    return subs


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
        kind = intake.kind_of(c.path)
        if kind == "folder":
            sub = _student_folder(c.path, skipped)
        elif kind == "file":
            sub = load_file(c.path, ident)
        else:
            why = intake.refused_link(c.path) if kind == "link" else intake.SPECIAL
            sub = Submission(ident, c.path, "other", problem=f"{c.path.name} is {why}")
        sub.id = ident
        sub.student, sub.student_id = c.student, c.student_id
        if c.note:  # the export's word first (latest of 3 files, late), then the file's own
            sub.note = f"{c.note}; {sub.note}" if sub.note else c.note
        out.append(sub)
    return out


def _junk(rel: Path) -> bool:
    return any(part in JUNK or part.startswith(".") for part in rel.parts)


def _files(folder: Path, refused: list[tuple[str, str]]) -> list[Path]:
    """Every file below ``folder``, sorted, without hidden and system files; links that
    leave it and special files go to ``refused`` (intake.walk)."""
    found = intake.walk(folder)
    refused.extend(
        (path, why) for path, why in found.refused if not _junk(Path(path).relative_to(folder))
    )
    return [p for p in found.files if not _junk(p.relative_to(folder))]


def _one_students(item: Path) -> bool:
    """A folder (or zip) of one student's work: one notebook or module, and beside it files
    and folders holding no other code (a PDF, images, data): its attachments."""
    children = [c for c in item.iterdir() if not _junk(Path(c.name))]
    code = [c for c in children if intake.kind_of(c) == "file" and c.suffix.lower() in CODE]
    if len(code) != 1 or len(children) < 2:
        return False
    below = (p for c in children if intake.kind_of(c) == "folder" for p in intake.walk(c).files)
    return not any(p.suffix.lower() in CODE and not _junk(p.relative_to(item)) for p in below)


def _folder(
    item: Path,
    subs: list[Submission],
    skipped: list[tuple[str, str]],
    name: str = "",
    tempdirs: list[Path] | None = None,
) -> None:
    """A folder of submissions (or one student's work). ``tempdirs``: zips in it are
    students' archives, extracted there (never the zips inside an archive). A link here is
    never a submission: it could name a classmate's work or any file on the host."""
    if _one_students(item):
        subs.append(_student_folder(item, skipped, name or item.name))
        return
    for child in sorted(item.iterdir()):
        kind = intake.kind_of(child)
        if _junk(Path(child.name)):
            skipped.append((str(child), "not a submission (system or hidden file)"))
        elif kind == "link":
            skipped.append((str(child), intake.refused_link(child)))
        elif kind == "special":
            skipped.append((str(child), intake.SPECIAL))
        elif kind == "file" and child.suffix.lower() == ".zip" and tempdirs is not None:
            subs.extend(_unzip(child, skipped, tempdirs))
        elif kind == "file":
            subs.append(load_file(child))
        else:
            subs.append(_student_folder(child, skipped))


def _student_folder(folder: Path, skipped: list[tuple[str, str]], name: str = "") -> Submission:
    ident = _safe_id(name or folder.name)
    refused: list[tuple[str, str]] = []
    files = _files(folder, refused)
    skipped.extend(refused)
    sub = _pick(folder, files, ident, skipped)
    if refused:  # the student (and the instructor) read why a file of theirs was not used
        names = ", ".join(str(Path(p).relative_to(folder)) for p, _ in refused[:5])
        more = ", ..." if len(refused) > 5 else ""
        sub.add_note(f"left out, never followed: {len(refused)} link(s) or special file(s) "
                     f"({names}{more})")  # fmt: skip
    return sub


def _pick(
    folder: Path, files: list[Path], ident: str, skipped: list[tuple[str, str]]
) -> Submission:
    """The folder's one notebook (or module), with the files beside it."""
    for kind in CODE:
        found = [p for p in files if p.suffix.lower() == kind]
        if len(found) == 1:
            sub = load_file(found[0], ident, root=folder)
            attach(sub, folder, [p for p in files if p != found[0]], skipped)
            return sub
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            return Submission(
                ident, folder, "other",
                problem=f"the folder holds several {kind} files ({names}); keep one",
            )  # fmt: skip
    return Submission(ident, folder, "other", problem="the folder holds no .ipynb or .py file")


def attach(
    sub: Submission, folder: Path, files: list[Path], skipped: list[tuple[str, str]]
) -> None:
    """Give ``sub`` the files beside it (its data, helper modules, attachments), within caps;
    those left out are listed as skipped with the reason."""
    total = 0
    for p in files:
        rel = str(p.relative_to(folder))
        if total >= MAX_EXTRA_TOTAL or len(sub.extra) >= MAX_EXTRA_FILES:
            skipped.append((str(p), "not copied beside the submission: too many files or bytes"))
            continue
        try:
            data = intake.read_regular(p, min(MAX_EXTRA_FILE, MAX_EXTRA_TOTAL - total), folder)
        except intake.TooLarge as exc:
            if exc.size > MAX_EXTRA_FILE:
                why = f"too large to copy beside the submission ({exc.size:,} bytes)"
            else:
                why = "not copied beside the submission: too many files or bytes"
            skipped.append((str(p), why))
            continue
        except OSError as exc:
            skipped.append((str(p), f"cannot be read ({exc.strerror or type(exc).__name__})"))
            continue
        sub.extra[rel] = data
        total += len(data)
    if sub.extra:
        shown = ", ".join(sorted(sub.extra)[:5]) + (", ..." if len(sub.extra) > 5 else "")
        sub.add_note(f"{len(sub.extra)} file(s) beside it copied in: {shown}")


def load_with_siblings(
    path: Path, exclude: tuple[Path, ...] = ()
) -> tuple[Submission, list[tuple[str, str]]]:
    """One notebook or module and the files beside it (as ``grader grade`` on its folder
    would copy them: helper modules and data), without other notebooks and ``exclude``."""
    sub = load_file(path, given=True)
    folder = path.parent
    skipped: list[tuple[str, str]] = []
    if not sub.gradable:
        return sub, skipped
    banned = [e.resolve() for e in exclude]
    files = [
        p
        for p in _files(folder, skipped)
        if p != path
        and p.suffix.lower() != ".ipynb"
        and not any(b == p.resolve() or b in p.resolve().parents for b in banned)
    ]
    attach(sub, folder, files[: MAX_EXTRA_FILES + 1], skipped)
    return sub, skipped
