"""The house in rooms (#37): graders/ in subpackages whose imports point one way, inward.

Each package has a rank; a module may import its own package and packages of lower rank,
never a higher one. ``inside/`` (the code that runs in the student's kernel) imports nothing
of graders at all. Checked on the source, imports inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

GRADERS = Path(__file__).resolve().parent.parent / "graders"
# inner to outer; graders/errors.py is the innermost module, api/__init__/__main__ the outermost
RANKS = {
    "errors": 0,
    "inside": 0,
    "verdict": 1,
    "intake": 2,
    "spec": 3,
    "sandbox": 4,
    "kernel": 5,
    "report": 6,
    "student": 7,
    "grading": 8,
    "authoring": 9,
    "lms": 9,
    "analysis": 9,
    "cli": 10,
    "api": 11,
    "__init__": 11,
    "__main__": 11,
}


def _room(parts: tuple[str, ...]) -> str:
    """The package (or top-level module) a path below graders/ belongs to."""
    return parts[0].removesuffix(".py")


def _targets(rel: Path, tree: ast.AST) -> list[tuple[int, str]]:
    """(line, room) of every graders import in a module at ``rel`` (below graders/)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = rel.parent.parts[: len(rel.parent.parts) - (node.level - 1)]
            parts = (*base, *(node.module or "").split(".")) if node.module else base
            if parts:
                out.append((node.lineno, _room(parts)))
            else:  # from graders' own __init__ (from .. import x): a module or __version__
                out += [(node.lineno, a.name) for a in node.names if a.name in RANKS]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("graders."):
            out.append((node.lineno, node.module.split(".")[1]))  # type: ignore[union-attr]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name.split(".")[1]) for a in node.names
                    if a.name.startswith("graders.")]  # fmt: skip
    return out


def violations(sources: dict[Path, str]) -> list[str]:
    """Imports that point outward (or out of ``inside/``), by module path below graders/."""
    found = []
    for rel, text in sorted(sources.items()):
        own = _room(rel.parts)
        for line, room in _targets(rel, ast.parse(text)):
            if room == own or room not in RANKS:
                continue
            if own == "inside" or RANKS[room] > RANKS[own]:
                found.append(f"graders/{rel}:{line}: {own} (rank {RANKS[own]}) imports {room} "
                             f"(rank {RANKS[room]})")  # fmt: skip
    return found


def _sources() -> dict[Path, str]:
    return {p.relative_to(GRADERS): p.read_text() for p in GRADERS.rglob("*.py")}


def test_imports_point_inward() -> None:
    assert violations(_sources()) == []


def test_the_check_sees_an_outward_import() -> None:
    """The checker itself: an import of grading from verdict, and any graders import in
    inside/, are each reported."""
    bad = {
        Path("verdict/score.py"): "from ..grading.pipeline import grade\n",
        Path("inside/runtime.py"): "def f():\n    from ..verdict import codec\n",
        Path("grading/pipeline.py"): "from ..verdict.score import x\nfrom . import execute\n",
    }
    found = violations(bad)
    assert len(found) == 2
    assert "verdict (rank 1) imports grading (rank 8)" in found[1]
    assert found[0].startswith("graders/inside/runtime.py:2: inside")


def test_few_modules_at_the_top_and_every_room_says_what_it_holds() -> None:
    top = sorted(p.name for p in GRADERS.glob("*.py"))
    assert len(top) <= 10, top
    rooms = [d for d in GRADERS.iterdir() if (d / "__init__.py").is_file()]
    assert {d.name for d in rooms} <= set(RANKS), "a new package needs a rank here"
    for d in rooms:
        doc = ast.get_docstring(ast.parse((d / "__init__.py").read_text()))
        assert doc and "May import" in doc, d.name
    assert all(r.name in RANKS for r in rooms)
