"""The kernel process's own output (its stdout and stderr, outside iopub): the sandbox's and
Python's start-up errors, and the interpreter's last words when it crashes (faulthandler,
which the runtime points there)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from .capture import strip_ansi, truncate


def end(path: Path, size: int = 64 * 1024) -> str:
    """The last ``size`` bytes of the log, as text."""
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - size))
            return strip_ansi(f.read().decode(errors="replace"))
    except OSError:
        return ""


def tail(path: Path, lines: int = 6, chars: int = 1500) -> str:
    """The log's last non-empty lines, on one line."""
    kept = [line.strip() for line in end(path).splitlines() if line.strip()]
    return truncate(" | ".join(kept[-lines:]), chars)


def fatal_error(path: Path) -> str:
    """The last "Fatal Python error: ..." of the log (a segmentation fault, say), or ""."""
    fatal = re.findall(r"^Fatal Python error: (.{1,200})$", end(path), re.M)
    return fatal[-1].strip() if fatal else ""
