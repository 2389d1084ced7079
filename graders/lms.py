"""LMS exports as they are downloaded: Canvas's "Download submissions" zip, Moodle's
assignment download zip, or any zip of notebooks. Archives are untrusted input: entries with
absolute paths or ``..``, links, zip bombs and huge files are refused with a reason, and a
file that is not a zip (or is corrupt) is reported, never a crash.

Canvas names each file ``<lastfirst>_[late_]<user id>_<submission id>_<original name>``, the
original name getting ``-1``, ``-2``... on resubmission. Moodle makes one folder per
participant, ``<Full Name>_<id>_assignsubmission_file_``.
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_ENTRIES = 20_000
MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, for entries over 1 MB

CANVAS = re.compile(
    r"^(?P<name>[^_/]+)_(?P<late>late_)?(?P<uid>\d+)_(?P<sid>\d+)_(?P<file>.+)$", re.I
)
MOODLE = re.compile(r"^(?P<name>.+)_(?P<uid>\d+)_assignsubmission_(?:file|onlinetext)_?$")
RESUBMISSION = re.compile(r"^(?P<stem>.*)-(?P<n>\d+)$")


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
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or any(part in ("..", "") for part in p.parts) or ":" in p.parts[0]:
        return None
    return p.parts


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
            parts = _safe_parts(info.filename)
            if parts is None:
                out.skipped.append((info.filename, "unsafe path (absolute or '..'); not extracted"))
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                out.skipped.append((info.filename, "a symbolic link; not extracted"))
                continue
            if info.is_dir():
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
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            try:
                with zf.open(info) as src, open(target, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        total += len(chunk)
                        if written > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
                            raise ArchiveError(f"{archive.name} expands beyond its declared sizes")
                        dst.write(chunk)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                target.unlink(missing_ok=True)
                out.skipped.append((info.filename, f"corrupt entry ({exc})"))
            except ArchiveError:
                target.unlink(missing_ok=True)
                raise
    return out


def _resubmission(name: str) -> int:
    stem = Path(name).stem
    m = RESUBMISSION.match(stem)
    return int(m.group("n")) if m else 0


def canvas_candidates(root: Path) -> list[Candidate] | None:
    """Canvas's flat layout, or None when the files do not follow it."""
    files = [p for p in root.iterdir() if p.is_file()]
    if not files or any(p.is_dir() for p in root.iterdir()):
        return None
    parsed = [(p, CANVAS.match(p.name)) for p in files]
    if not all(m for _, m in parsed):
        return None
    by_student: dict[str, list[tuple[Path, re.Match[str]]]] = {}
    for p, m in parsed:
        assert m is not None
        by_student.setdefault(m.group("uid"), []).append((p, m))
    out = []
    for uid, entries in sorted(by_student.items()):
        gradable = [
            e for e in entries if Path(e[1].group("file")).suffix.lower() in (".ipynb", ".py")
        ]
        pool = gradable or entries
        pool.sort(key=lambda e: (_resubmission(e[1].group("file")), int(e[1].group("sid"))))
        path, m = pool[-1]
        notes = []
        if len(entries) > 1:
            others = ", ".join(e[1].group("file") for e in entries if e[0] != path)
            notes.append(f"latest of {len(entries)} files ({m.group('file')}; also: {others})")
        if m.group("late"):
            notes.append("marked late by Canvas")
        out.append(Candidate(path, m.group("name"), uid, "; ".join(notes)))
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
