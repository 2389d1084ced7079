"""A submission's files in its kernel's work dir: on the host (bound in read-only by the
sandbox at each start) and, for a kernel started ahead of its submission, written from
inside the running kernel before any of the student's code runs."""

from __future__ import annotations

import base64
import json
from pathlib import Path


def place_files(work: Path, files: dict[str, bytes]) -> None:
    """Write the files below ``work`` on the host, folders included."""
    for name, data in files.items():
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def placing_code(files: dict[str, bytes]) -> str:
    """Kernel code that writes ``files`` read-only into its working directory (the files
    travel as base64 inside the code; nothing else is read) and lets imports see them."""
    payload = json.dumps({n: base64.b64encode(d).decode() for n, d in files.items()})
    return (
        "def __grader_place(files):\n    import base64, os\n"
        "    for name, data in files.items():\n"
        "        os.makedirs(os.path.dirname(name) or '.', exist_ok=True)\n"
        "        with open(name, 'wb') as f:\n            f.write(base64.b64decode(data))\n"
        "        os.chmod(name, 0o444)\n"
        f"__grader_place({payload})\ndel __grader_place\n"
        "import importlib as _il\n_il.invalidate_caches()\ndel _il\n"  # new modules
    )
