"""LMS exports as they are downloaded: Canvas's "Download submissions" zip, Moodle's
assignment download zip, or any zip of notebooks. Archives are untrusted input: entries with
absolute paths or ``..``, links, zip bombs and huge files are refused with a reason, and a
file that is not a zip (or is corrupt) is reported, never a crash.

Canvas names each file ``<lastfirst>_[late_]<user id>_<submission id>_<original name>``, the
original name getting ``-1``, ``-2``... on resubmission; :func:`canvas_name` reads it as
Canvas does. Moodle makes one folder per
participant, ``<Full Name>_<id>_assignsubmission_file_``. Gradescope's "Export Submissions"
gives ``assignment_<id>_export/`` with a folder per submission (``submission_<id>/``) and
``submission_metadata.yml``, which names each submission's submitters (``:name:``, ``:sid:``,
``:email:``; several for a group) and its ``:created_at:`` time.
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

MAX_ENTRIES = 20_000
MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, for entries over 1 MB

MOODLE = re.compile(r"^(?P<name>.+)_(?P<uid>\d+)_assignsubmission_(?:file|onlinetext)_?$")
RESUBMISSION = re.compile(r"^(?P<stem>.*)-(?P<n>\d+)$")
GRADESCOPE_META = "submission_metadata.yml"
MAX_META_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class CanvasName:
    """A file name as Canvas's Download Submissions writes it, read as Canvas reads it back
    (canvas-lms ``app/models/abstract_assignment.rb``,
    ``AbstractAssignment#infer_comment_context_from_filename``): split at ``_``, the first two
    all-digit parts are the user id and the attachment id. Before them: the student's name
    (``lastfirst``, itself holding ``_`` for ``de_la_cruz``) and ``late``; after: the file's
    original name."""

    name: str
    late: bool
    uid: str
    sid: str
    file: str
    prefix: str  # the name up to the attachment id: what Re-Upload Submissions matches

    @property
    def safe_prefix(self) -> str:
        """The prefix as a zip entry name: no folders, drives or control characters (the ids,
        all digits, are untouched)."""
        return re.sub(r"[\\/:\x00-\x1f]", "_", self.prefix)


def canvas_name(filename: str) -> CanvasName | None:
    """The ids in a Canvas download's file name, or None when it has no two all-digit parts
    with a name before and a file after them."""
    parts = filename.split("_")
    digits = [i for i, p in enumerate(parts) if p.isascii() and p.isdigit()][:2]
    if len(digits) < 2 or digits[0] == 0 or digits[1] == len(parts) - 1:
        return None
    u, a = digits
    before = parts[:u]
    late = bool(before) and before[-1].casefold() == "late"
    name = "_".join(before[:-1] if late else before)
    if not name:
        return None
    return CanvasName(
        name, late, parts[u], parts[a], "_".join(parts[a + 1 :]), "_".join(parts[: a + 1])
    )


class ArchiveError(ValueError):
    """The archive as a whole cannot be used (not a zip, corrupt, a bomb)."""


@dataclass
class Extracted:
    root: Path
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (entry, reason)


@dataclass
class Candidate:
    """One student's file or folder inside an export, with who it belongs to."""

    path: Path
    student: str
    student_id: str
    note: str = ""


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """The path's parts below the extraction folder (``./a//b`` gives ``a``, ``b``), or None
    when it would leave that folder, names a drive, or names nothing at all."""
    p = PurePosixPath(name.replace("\\", "/"))
    parts = p.parts
    drive = re.match(r"^[A-Za-z]:", parts[0]) if parts else None  # C:, not zoe_1_2_x:y
    if not parts or p.is_absolute() or ".." in parts or drive or "\0" in name:
        return None
    return parts


def extract(archive: Path, dest: Path) -> Extracted:
    """Extract ``archive`` below ``dest`` only, refusing anything unsafe."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{archive.name} is not a readable zip archive ({exc})") from None
    out = Extracted(dest)
    total = 0
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ArchiveError(f"{archive.name} has {len(infos):,} entries (limit {MAX_ENTRIES:,})")
        for info in infos:
            if info.is_dir():  # folders are made for the files in them, never on their own
                continue
            parts = _safe_parts(info.filename)
            if parts is None:
                why = "an empty name" if not info.filename.strip("./\\") else "an unsafe path"
                out.skipped.append(
                    (info.filename, f"{why} (absolute, '..' or a drive); not extracted")
                )
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                out.skipped.append((info.filename, "a symbolic link; not extracted"))
                continue
            if info.file_size > MAX_FILE_BYTES:
                out.skipped.append((info.filename, f"too large ({info.file_size:,} bytes)"))
                continue
            if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(1, info.compress_size):
                raise ArchiveError(f"{archive.name} looks like a zip bomb ({info.filename})")
            target = dest.joinpath(*parts)
            if dest.resolve() not in target.resolve().parents:
                out.skipped.append((info.filename, "unsafe path; not extracted"))
                continue
            written = 0
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        total += len(chunk)
                        if written > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
                            raise ArchiveError(f"{archive.name} expands beyond its declared sizes")
                        dst.write(chunk)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                _remove(target)
                out.skipped.append((info.filename, f"corrupt entry ({exc})"))
            except RuntimeError as exc:  # zipfile: "File ... is encrypted, password required"
                _remove(target)
                out.skipped.append((info.filename, f"cannot be read ({exc}); not extracted"))
            except OSError as exc:  # a name too long here, a file where a folder must go
                _remove(target)
                why = exc.strerror or type(exc).__name__
                out.skipped.append(
                    (info.filename, f"cannot be written here ({why}); not extracted")
                )
            except ArchiveError:
                target.unlink(missing_ok=True)
                raise
    return out


def _remove(path: Path) -> None:
    try:
        if path.is_file():
            path.unlink()
    except OSError:
        pass


def _resubmission(name: str) -> int:
    stem = Path(name).stem
    m = RESUBMISSION.match(stem)
    return int(m.group("n")) if m else 0


def canvas_candidates(root: Path) -> list[Candidate] | None:
    """Canvas's flat layout, or None when the files do not follow it."""
    files = [p for p in root.iterdir() if p.is_file()]
    if not files or any(p.is_dir() for p in root.iterdir()):
        return None
    parsed = [(p, canvas_name(p.name)) for p in files]
    if not all(m for _, m in parsed):
        return None
    by_student: dict[str, list[tuple[Path, CanvasName]]] = {}
    for p, m in parsed:
        assert m is not None
        by_student.setdefault(m.uid, []).append((p, m))
    out = []
    for uid, entries in sorted(by_student.items()):
        gradable = [e for e in entries if Path(e[1].file).suffix.lower() in (".ipynb", ".py")]
        pool = gradable or entries
        pool.sort(key=lambda e: (_resubmission(e[1].file), int(e[1].sid)))
        path, m = pool[-1]
        notes = []
        if len(entries) > 1:
            others = ", ".join(e[1].file for e in entries if e[0] != path)
            notes.append(f"latest of {len(entries)} files ({m.file}; also: {others})")
        if m.late:
            notes.append("marked late by Canvas")
        out.append(Candidate(path, m.name, uid, "; ".join(notes)))
    return out


def moodle_candidates(root: Path) -> list[Candidate] | None:
    dirs = [p for p in root.iterdir() if p.is_dir()]
    if not dirs:
        return None
    matches = [(d, MOODLE.match(d.name)) for d in dirs]
    if not all(m for _, m in matches):
        return None
    out = []
    for d, m in sorted(matches, key=lambda t: t[0].name):
        assert m is not None
        out.append(Candidate(d, m.group("name"), m.group("uid")))
    return out


def gradescope_root(root: Path) -> Path | None:
    """The folder holding ``submission_metadata.yml``: ``root`` or its one subfolder."""
    if (root / GRADESCOPE_META).is_file():
        return root
    entries = [p for p in root.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / GRADESCOPE_META).is_file():
        return entries[0]
    return None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def gradescope_candidates(root: Path, skipped: list[tuple[str, str]]) -> list[Candidate] | None:
    """A Gradescope export: one candidate per student (each member of a group gets the
    group's submission); a student in several submissions gets the latest. None when
    ``root`` is not a Gradescope export; an unreadable metadata file raises ArchiveError."""
    base = gradescope_root(root)
    if base is None:
        return None
    meta_path = base / GRADESCOPE_META
    if meta_path.stat().st_size > MAX_META_BYTES:
        raise ArchiveError(f"{GRADESCOPE_META} is too large to be Gradescope's")
    try:
        meta = yaml.safe_load(meta_path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"{GRADESCOPE_META} is not valid YAML ({exc})") from None
    if not isinstance(meta, dict):
        raise ArchiveError(f"{GRADESCOPE_META} does not map submission folders to submitters")
    # student id -> [(created_at, folder, name, other group members)]
    latest: dict[str, list[tuple[str, Path, str, list[str]]]] = {}
    for folder_name, info in meta.items():
        folder = base / str(folder_name)
        where = f"{GRADESCOPE_META}: {folder_name}"
        parts = _safe_parts(str(folder_name))
        if parts is None or len(parts) != 1:
            skipped.append((where, "not a plain folder name; ignored"))
            continue
        if not folder.is_dir():
            skipped.append((where, "listed in the metadata but its folder is missing"))
            continue
        people = info.get(":submitters") if isinstance(info, dict) else None
        if not isinstance(people, list) or not people:
            skipped.append((str(folder), "no submitters in the metadata; not graded"))
            continue
        created = _text(info.get(":created_at"))
        names = [_text(p.get(":name")) for p in people if isinstance(p, dict)]
        for person in people:
            if not isinstance(person, dict):
                continue
            name = _text(person.get(":name")) or "unknown"
            sid = _text(person.get(":sid")) or _text(person.get(":email")) or str(folder_name)
            others = [n for n in names if n != name]
            latest.setdefault(sid, []).append((created, folder, name, others))
    listed = {str(k) for k in meta}
    for child in sorted(base.iterdir()):
        if child.is_dir() and child.name not in listed:
            skipped.append((str(child), f"not listed in {GRADESCOPE_META}; not graded"))
    out = []
    for sid, subs in sorted(latest.items()):
        subs.sort(key=lambda t: (t[0], t[1].name))
        _, folder, name, others = subs[-1]
        notes = []
        if others:
            notes.append("group submission with " + ", ".join(others))
        if len(subs) > 1:
            older = ", ".join(t[1].name for t in subs[:-1])
            notes.append(f"latest of {len(subs)} submissions ({folder.name}; also: {older})")
        out.append(Candidate(folder, name, sid, "; ".join(notes)))
    return out
