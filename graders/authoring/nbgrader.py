"""``grader import nbgrader source/<assignment>/``: nbgrader source notebooks as assignments.

The format, as nbgrader's own code reads it (jupyter/nbgrader):
- A cell's role is in ``metadata.nbgrader`` (``nbgrader/utils.py``: ``is_grade``,
  ``is_solution``, ``is_task``): ``grade`` and not ``solution``: autograder tests with
  ``points``; ``grade`` and ``solution``: an answer graded by hand; ``task``: a task graded by
  hand; ``solution`` alone: where students write, its ``### BEGIN SOLUTION`` ...
  ``### END SOLUTION`` region replaced by ``# YOUR CODE HERE`` / ``raise NotImplementedError()``
  at the region's indentation, or the whole cell when it has no region, and a Markdown answer by
  "YOUR ANSWER HERE" (``preprocessors/clearsolutions.py``). ``### BEGIN HIDDEN TESTS`` ...
  ``### END HIDDEN TESTS`` leave the released notebook (``preprocessors/clearhiddentests.py``).
- A test cell scores all its points when it runs without an error, else none
  (``utils.determine_grade``): each becomes one all-or-nothing check whose case is the cell's
  code as the source notebook has it, hidden tests included; so an edited test cell in a
  submission does not count, as nbgrader's ``OverwriteCells`` restores them.

One source notebook is one assignment (``<assignment>_<notebook>``): the harness grades one
notebook per submission.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat

from ..errors import UsageError
from ..student.cells import check_cell, framed
from .importing import Case, Converted, Question, identifier, module_source, points, read_notebook

CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
BEGIN, END = re.compile(r"^(\s*)###\s*BEGIN SOLUTION"), re.compile(r"^\s*###\s*END SOLUTION")
HIDDEN = re.compile(r"^\s*###\s*(BEGIN|END) HIDDEN TESTS")


def _role(cell: Any) -> dict[str, Any]:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def stub_source(source: str) -> str:
    """A solution cell as nbgrader's release has it."""
    if not any(BEGIN.match(x) for x in source.splitlines()):
        return CODE_STUB
    out, inside = [], False
    for line in source.splitlines():
        if m := BEGIN.match(line):
            inside = True
            out += [m.group(1) + x for x in CODE_STUB.splitlines()]
        elif END.match(line):
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def _without_hidden(source: str) -> str:
    out, hidden = [], False
    for line in source.splitlines():
        if m := HIDDEN.match(line):
            hidden = m.group(1) == "BEGIN"
        elif not hidden:
            out.append(line)
    return "\n".join(out)


def _title(source: str, last_md: str) -> str:
    text = source.strip().splitlines()[0] if source.strip() else ""
    doc = re.match(r'^[ru]?"""(.*?)(""")?$', text) or re.match(r"^#\s*(.*)$", text)
    if doc and doc.group(1).strip():
        return doc.group(1).strip()
    heading = next((x.strip("# ") for x in last_md.splitlines() if x.startswith("#")), "")
    return heading or text[:80]


def _convert_one(nb: Any, path: Path, name: str) -> Converted:
    template: list[Any] = []
    reference: list[str] = []
    questions: list[Question] = []
    taken: set[str] = set()
    last_md = ""
    for cell in nb.cells:
        role = _role(cell)
        grade, solution, task = (bool(role.get(k)) for k in ("grade", "solution", "task"))
        if cell.cell_type == "markdown":
            last_md = cell.source if not (grade or task) else last_md
        if grade or task:
            q = Question(name=identifier(str(role.get("grade_id", "cell")), taken),
                         title=_title(cell.source, last_md))  # fmt: skip
            pts = points(role.get("points") or 0, f"{path.name}: cell {q.name}")
            if solution or task or cell.cell_type != "code":
                q.manual, q.points = True, pts
            else:
                q.cases = [Case(_without_hidden_markers(cell.source), "### BEGIN HIDDEN" in
                                cell.source, pts, probe=True)]  # fmt: skip
                q.all_or_nothing = True
            questions.append(q)
        if cell.cell_type == "code":
            if not (grade and not solution):
                reference.append(cell.source)
            shown = (
                stub_source(cell.source) if solution
                else _without_hidden(cell.source) if grade else cell.source
            )  # fmt: skip
            new = nbformat.v4.new_code_cell(shown)
            template.append(new)
            if grade and not solution:
                template.append(check_cell([questions[-1].name]))
        elif cell.cell_type == "markdown":
            template.append(nbformat.v4.new_markdown_cell(TEXT_STUB if solution else cell.source))
        else:
            template.append(cell)
    return Converted(
        kind="nbgrader", name=name, title=f"{path.parent.name} {path.stem}", source=path,
        template=nbformat.v4.new_notebook(cells=framed(template, name), metadata=dict(nb.metadata)),
        reference=module_source(reference), questions=questions,
        notes=["test cells run after the whole notebook (nbgrader runs each where it stands): "
               "a test that relies on a name a later cell changes sees the later value"],
    )  # fmt: skip


def _without_hidden_markers(source: str) -> str:
    return "\n".join(x for x in source.splitlines() if not HIDDEN.match(x))


def notebooks(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    found = sorted(p for p in source.glob("*.ipynb") if p.is_file() and not p.is_symlink())
    if not found:
        raise UsageError(f"{source} holds no notebooks (expected nbgrader's source/<assignment>/)")
    return found


def convert_all(source: Path, name: str) -> list[Converted]:
    out = []
    paths = notebooks(source)
    for path in paths:
        nb = read_notebook(path)
        stem = re.sub(r"\W", "_", path.stem.lower())
        out.append(_convert_one(nb, path, name if len(paths) == 1 else f"{name}_{stem}"))
    return out
