"""The self-check's cells in a template: one setup cell before the first code cell, and a
``check("stub")`` cell after the cell that defines each exercise.

``grader build`` adds them to the student bundle's template, and ``grader new`` writes them
into a new template; a template that already has cells tagged ``self-check`` is left as its
author made it. The setup cell never fails: where the self-check file is absent (the grading
kernel, a student who has not fetched it), ``check`` only says so, so a submission's cells run
the same with or without it. Otter-grader's convention (``grader.check("q1")`` after each
answer) is what students know; unlike otter's, nothing is read from a ``tests/`` folder or the
notebook's metadata, which Colab cannot reach.
"""

from __future__ import annotations

from collections.abc import Sequence

import nbformat
from nbformat.v4 import new_code_cell

from ..verdict.missing import defines
from .wheel import package_name

TAG = "self-check"


def setup_source(assignment_name: str) -> str:
    pkg = package_name(assignment_name)
    return (
        "# Self-check: run this cell once, then each check(...) cell after an exercise.\n"
        f"# It needs the file {pkg}-*.whl from your instructor beside this notebook (in Colab:\n"
        f"# Files panel, Upload), or `%pip install` of that file or of its web address.\n"
        "import glob, os, sys\n\n"
        f'sys.path[:0] = [os.path.abspath(f) for f in sorted(glob.glob("{pkg}-*.whl"))[-1:]]\n'
        "try:\n"
        f"    from {pkg} import check\n"
        "except ImportError as _err:  # no self-check file here (nor in grading): say so\n\n"
        "    def check(*names, _why=str(_err)):\n"
        '        print(f"The self-check is not set up ({_why}). Put the file {pkg}-*.whl "\n'
        '              "from your instructor in the folder of this notebook (in Colab: Files "\n'
        '              "panel, Upload), or run %pip install with its path or web address; "\n'
        '              "then run this cell again.")\n'
    ).replace("{pkg}", pkg)


def check_source(names: Sequence[str]) -> str:
    return "check(" + ", ".join(f'"{n}"' for n in names) + ")"


def _cell(source: str) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.metadata["tags"] = [TAG]
    return cell  # type: ignore[no-any-return]


def check_cell(names: Sequence[str]) -> nbformat.NotebookNode:
    """A ``check(...)`` cell of these stubs (all of them: none), tagged ``self-check``."""
    return _cell(check_source(names))


def framed(cells: list[nbformat.NotebookNode], assignment: str) -> list[nbformat.NotebookNode]:
    """``cells`` with the setup cell before the first code cell and ``check()`` at the end."""
    first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    setup = _cell(setup_source(assignment))
    return [*cells[:first_code], setup, *cells[first_code:], check_cell([])]


def add_check_cells(nb: nbformat.NotebookNode, stubs: Sequence[str], assignment: str) -> bool:
    """Add the setup cell and a check cell after each exercise (the last code cell defining a
    stub, or a stub's class); False, unchanged, where any cell is tagged ``self-check``."""
    if any(TAG in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        return False
    names = list(dict.fromkeys(s.split(".")[0] for s in stubs))
    last: dict[str, int] = {}
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code":
            for name in names:
                if defines(c.source, name):
                    last[name] = i
    after: dict[int, list[str]] = {}
    for name in names:
        if name in last:
            after.setdefault(last[name], []).append(name)
    cells = []
    for i, c in enumerate(nb.cells):
        cells.append(c)
        if i in after:
            cells.append(check_cell(after[i]))
    cells = framed(cells, assignment)  # and check() for all of them, before handing in
    nb.cells = cells
    ours = [c for c in cells if TAG in c.metadata.get("tags", [])]
    for k, c in enumerate(ours):  # stable ids (nbformat 4.5); a 4.4 notebook has none
        if nb.get("nbformat_minor", 5) >= 5:
            c.id = f"self-check-{k}"
        else:
            c.pop("id", None)
    return True
