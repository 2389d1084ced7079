"""Where student input enters the host, and the rules it meets there, once.

Everything a submission or an LMS export hands the host is hostile: folders, file names,
links, special files, names that become ids, and text that lands in a spreadsheet. The
stages after intake work on bytes in memory and on ids this module made, so these rules are
the only ones a reader needs (SECURITY.md, "What the host does with student input", lists
them with their bounds):

* **No link is followed out of a submission.** A link below a submission folder is read only
  when it points to a regular file inside that same folder; any other link (to the
  reference, hidden data, ``/proc``, a classmate's notebook, a folder) is refused and listed
  with the reason. A link directly in a folder of submissions is never a submission.
* **Only regular files are read**, opened without following a link, within a size cap
  (devices, pipes and sockets are refused without being opened for long).
* **Ids are unique and never a name the run writes** (``gradebook.csv``, ``summary.html``,
  ``canvas``...): a collision gets the next free ``-N``.
* **Text from students is text**: a CSV cell that a spreadsheet would run as a formula is
  written with a leading apostrophe (OWASP's CSV injection rule).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

# What the run writes beside the students' report folders (report.py, similarity_report.py,
# the exporters, the self-check's default): an id must never be one of them.
RESERVED_IDS = frozenset(
    {
        "gradebook.csv", "summary.html", "similarity.html", "similarity.json", "canvas",
        "moodle", "canvas_import.csv", "canvas_feedback.zip", "moodle_worksheet.csv",
        "moodle_feedback.zip", "grader-feedback", "dist", "data", "hidden_data", "mutants",
    }
)  # fmt: skip
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


class HasId(Protocol):
    id: str


@dataclass
class Walk:
    """The regular files below a folder, and what was refused there (path, reason)."""

    files: list[Path] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def link_target(path: Path, root: Path) -> Path | None:
    """Where a link below ``root`` leads, when that is a regular file inside ``root``
    (the only link intake reads through); None for any other link."""
    try:
        target = path.resolve(strict=True)
        real_root = root.resolve(strict=True)
        st = os.stat(target, follow_symlinks=False)
    except (OSError, RuntimeError):  # dangling, a loop
        return None
    if not stat.S_ISREG(st.st_mode) or not target.is_relative_to(real_root):
        return None
    return target


def refused_link(path: Path) -> str:
    try:
        where = os.readlink(path)
    except OSError:
        where = "?"
    return (
        f"a link (to {where[:200]}); links that leave the submission are never followed: "
        "hand in the file itself"
    )


def kind_of(path: Path) -> str:
    """'file', 'folder', 'link' or 'special' (device, pipe, socket), without following."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return "special"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "folder"
    return "file" if stat.S_ISREG(mode) else "special"


SPECIAL = "not a regular file (a device, pipe or socket); not read"


def walk(root: Path) -> Walk:
    """Every regular file below ``root`` (sorted), never descending through a link; a link
    to a regular file inside ``root`` counts as a file, every other link and special file
    is refused."""
    out = Walk()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        here = Path(dirpath)
        for name in sorted([*filenames, *(d for d in dirnames if kind_of(here / d) == "link")]):
            p = here / name
            kind = kind_of(p)
            if kind == "file" or (kind == "link" and link_target(p, root) is not None):
                out.files.append(p)
            elif kind == "link":
                out.refused.append((str(p), refused_link(p)))
            else:
                out.refused.append((str(p), SPECIAL))
    out.files.sort()
    return out


class TooLarge(OSError):
    """A file over its cap."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(0, f"too large ({size:,} bytes; the limit is {limit:,})")
        self.size = size


def read_regular(path: Path, limit: int, root: Path | None = None) -> bytes:
    """A regular file's bytes, at most ``limit``. With ``root``, a link to a regular file
    inside ``root`` is read through (at its target); anything else that is not a regular
    file raises OSError, never blocking on a pipe."""
    if root is not None and kind_of(path) == "link":
        target = link_target(path, root)
        if target is None:
            raise OSError(0, "a link that leaves the submission")
        path = target
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(0, "not a regular file")
        if st.st_size > limit:
            raise TooLarge(st.st_size, limit)
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > limit:  # it grew while we read
                raise TooLarge(total, limit)
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def unique_ids(subs: Iterable[HasId]) -> None:
    """Make every id unique (case-blind: macOS and Windows folders) and apart from the names
    the run writes: the first keeps its id, the next gets the first free ``-2``, ``-3``..."""
    taken = {r.casefold() for r in RESERVED_IDS}
    for s in subs:
        ident, n = s.id, 1
        while ident.casefold() in taken:
            n += 1
            ident = f"{s.id}-{n}"
        taken.add(ident.casefold())
        s.id = ident


def csv_cell(value: object) -> str:
    """A cell of student-supplied text, safe to open in a spreadsheet: text that begins with
    ``= + - @``, a tab or a carriage return gets a leading apostrophe (numbers, and the dash
    an LMS writes for "no date", stay as they are)."""
    text = "" if value is None else str(value)
    if not text.strip(" -"):  # "-": an LMS's empty date, compared on import; never a formula
        return text
    if text.startswith(FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text


def clashes(student: Iterable[str], assignment: Iterable[str]) -> list[str]:
    """The student's files that would sit where the assignment's files go (a file named
    ``data`` where ``data/`` holds the assignment's data, or the same name): the
    assignment's win, these are left out."""
    theirs = set(assignment)
    folders = {str(Path(*Path(n).parts[:k])) for n in theirs for k in range(1, len(Path(n).parts))}
    out = []
    for name in student:
        parts = Path(name).parts
        above = {str(Path(*parts[:k])) for k in range(1, len(parts))}
        if name in theirs or name in folders or above & theirs:
            out.append(name)
    return sorted(out)
