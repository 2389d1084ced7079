"""Why a stub is missing: the cell that defines it stopped before it got there.

A student whose ``train`` cell begins with ``from tqdm import tqdm`` in an environment without
tqdm reads "`train` is not defined" on every check of ``train``. That is true and useless; the
cause is the cell's own error, which this module finds and words for the student.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence

from .model import CellResult
from .results import CellStatus

_BLOCKS = (ast.If, ast.Try, ast.With, ast.For, ast.While)


def _bound(nodes: list[ast.stmt]) -> Iterator[str]:
    """The names that statements bind at a cell's top level (not inside functions)."""
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                yield from (n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            yield from ((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, _BLOCKS):
            for part in ("body", "orelse", "finalbody", "handlers"):
                yield from _bound(getattr(node, part, []))
        elif isinstance(node, ast.ExceptHandler):
            yield from _bound(node.body)


# Student text read on the host: a cell longer than this is only scanned line by line.
MAX_PARSED_CHARS = 200_000


def defines(code: str, name: str) -> bool:
    """Whether a cell's code binds ``name`` at its top level; a cell that does not parse (or
    is too long or deep to parse) is read line by line for ``def name`` / ``class name``, in
    time linear in its length (no pattern may span lines: blank lines cost nothing)."""
    try:
        if len(code) > MAX_PARSED_CHARS:
            raise ValueError("too long to parse on the host")
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        pattern = rf"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+{re.escape(name)}\b"
        return re.search(pattern, code, re.MULTILINE) is not None
    return name in set(_bound(tree.body))


def missing_module(message: str) -> str:
    """The top-level package a ModuleNotFoundError's message names ("" when none)."""
    found = re.search(r"No module named '([^']+)'", message)
    return found.group(1).split(".")[0] if found else ""


def why_missing(
    name: str, sources: Sequence[str], cells: Sequence[CellResult], module: bool = False
) -> str | None:
    """The sentence that replaces "`name` is not defined" when a failed cell defines it, or
    None when no failed cell does (the student never wrote it, or deleted it). ``module``: the
    submission is a module, run as one cell."""
    for code, cell in zip(sources, cells, strict=False):
        if not cell.failed or not defines(code, name):
            continue
        err = cell.error or {}
        unit = "your module" if module else f"cell {cell.index}"
        where = f"`{name}` is not defined: {unit}, which defines it,"
        if cell.status is CellStatus.TIMEOUT:
            return f"{where} did not finish ({err.get('message') or 'time limit'})."
        if cell.status is CellStatus.DIED:
            return f"{where} stopped: the kernel died while it ran ({err.get('message', '')})."
        text = f"{where} stopped at {err.get('type', 'an error')}: {err.get('message', '')}"
        if package := missing_module(str(err.get("message", ""))):
            return f"{text}; the grading environment has no {package} (ask your instructor)."
        return f"{text}. Fix {'it' if module else 'that cell'} so that it runs to its end."
    return None


_UNDEFINED = re.compile(r"name '(\w{1,100})' is not defined")


def _assigned(source: str) -> set[str]:
    """The names a cell's code binds (assignments, defs, classes, imports), as far as it
    parses: what a later cell misses when this one stopped."""
    if len(source) > MAX_PARSED_CHARS:
        return set()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _label(index: int, sources: Sequence[str]) -> str:
    """A template cell as its author finds it: its place among the code cells and its first
    line."""
    src = sources[index - 1] if 0 < index <= len(sources) else ""
    first = next((ln.strip() for ln in src.splitlines() if ln.strip()), "")
    return f"template cell {index}" + (f" (`{first[:60]}`)" if first else "")


def template_problems(cells: Sequence[CellResult], sources: Sequence[str] = ()) -> list[str]:
    """``grader verify``: the untouched template's cells that fail for another reason than a
    stub's NotImplementedError (an import the kernels lack, an API a newer library removed):
    students would start from a notebook that is broken before they write a line. A
    NameError for a name an earlier failed cell would have defined is that cell's follow-on
    (a stub's, expected; or a problem already reported): not reported again. ``sources``:
    the template's code cells, to name each cell by its first line."""
    problems = []
    unbound: set[str] = set()  # names that earlier failed cells did not get to define
    for cell in cells:
        err = cell.error or {}
        if not cell.failed:
            continue
        source = sources[cell.index - 1] if 0 < cell.index <= len(sources) else ""
        follow_on = _UNDEFINED.search(str(err.get("message", "")))
        unbound |= _assigned(source)
        if err.get("type") == "NotImplementedError":
            continue
        if err.get("type") == "NameError" and follow_on and follow_on.group(1) in unbound:
            continue
        why = f"{err.get('type', cell.status.value)}: {err.get('message', '')}"
        text = f"{_label(cell.index, sources)} fails ({why})"
        if module := missing_module(str(err.get("message", ""))):
            text += (
                f"; the kernels' environment has no {module}: install it where the harness "
                "runs, or drop the import"
            )
        problems.append(text + "; only a stub's NotImplementedError may stop a template cell")
    return problems
