"""How alike a class's submissions are, per stub and overall: evidence for a person, never a
verdict (no score changes).

Code: each submission's definition of every stub (the function, class or method the checks
name; the last definition wins, as when the notebook runs), from notebooks (each code cell
parsed on its own, IPython magics turned into Python) and modules alike. Docstrings are dropped
and the code is printed again from its syntax tree, so comments, blank lines, layout and the
cells it was split across do not count. "Overall" is every stub's code in the template's order
plus the submission's other top-level functions and classes, sorted, so reordering does not
count either.

Detector: copydetect (pinned in pyproject; Winnowing, the algorithm MOSS uses, offline, with
Pygments tokens in which every name becomes ``V``/``F``, so renaming does not count). Its
fingerprints of the template's own code are boilerplate: a student who kept the template's
code shares nothing for it. A pair's score is the share of the smaller side's fingerprints
that the other side has (0..1).

Short stubs look alike when written independently (a right ``accuracy`` is one line), so each
pair is ranked by how far it stands out from the class: (score - the class's median for that
stub) / the class's spread (1.4826 x the median absolute deviation, at least ``MIN_SPREAD``),
and per stub the spread is reported, so a reader can see what is usual.
"""

from __future__ import annotations

import ast
import io
import itertools
import re
import statistics
from dataclasses import dataclass, field
from typing import Any

from ..intake import notebook

K = 25  # copydetect's noise threshold (its default): the shortest match that counts, in
# filtered characters; shorter ones are what independent short stubs share by chance
WINDOW = 1  # winnowing window: every k-gram is a fingerprint (short code needs them all)
MIN_SPREAD = 0.05
OVERALL = "(overall)"
THRESHOLD = 3.0  # the report's default flag: spreads above the class's median
TOP = 50  # the report's default: pairs listed overall and per stub


@dataclass(frozen=True)
class Code:
    """One submission's code as compared: per stub, and overall."""

    sid: str
    stubs: dict[str, str]  # stub -> normalized source; a stub it does not define is absent
    overall: str
    notes: tuple[str, ...] = ()  # cells that could not be read, and the like


@dataclass(frozen=True)
class Spread:
    """What is usual in this class for one stub (or overall)."""

    name: str
    median: float
    spread: float
    pairs: int


@dataclass
class Pair:
    a: str
    b: str
    score: float  # overall
    standout: float  # overall score against the class's usual, in spreads
    stubs: dict[str, float] = field(default_factory=dict)  # stub -> score
    stub_standout: dict[str, float] = field(default_factory=dict)

    @property
    def most_unusual(self) -> float:
        """How far the pair stands out on its most unusual stub."""
        return max(self.stub_standout.values(), default=0.0)


# Bounds on the student text this step parses on the host (see intake.py): a submission or a
# cell over them is left out and the report says so. Parsing is linear in their length.
MAX_CODE_CHARS = 300_000
MAX_CELL_CHARS = 200_000
_SHELL = re.compile(r"^([ \t]*)(?:(?:[A-Za-z_][\w.]*[ \t]*=[ \t]*)?[!%]|[\w.]+\?\??[ \t]*$)")


def _cells(data: bytes, kind: str) -> list[str]:
    if kind == "module":
        return [data.decode("utf-8", errors="replace")]
    nb = notebook.read(data).nb
    return [c.source for c in nb.cells if c.cell_type == "code"] if nb is not None else []


def _without_magics(source: str) -> str:
    """A cell's IPython lines (``%magic``, ``!shell``, ``x = !cmd``, ``obj?``) as ``pass``,
    line by line in linear time (IPython's own transformer re-reads the cell for each such
    line: minutes for a cell of a few hundred). A cell magic (``%%time``) is not Python."""
    if source.lstrip().startswith("%%"):
        return ""
    lines = source.split("\n")
    for i, line in enumerate(lines):
        if m := _SHELL.match(line):
            lines[i] = f"{m.group(1)}pass"
    return "\n".join(lines)


def _python(source: str) -> ast.Module | None:
    """A cell as Python (IPython's lines as ``pass``); None if it is not Python."""
    try:
        return ast.parse(_without_magics(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # hostile nesting too
        return None


def _without_docstrings(node: ast.AST) -> ast.AST:
    for n in ast.walk(node):
        body = getattr(n, "body", None)
        if (
            isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            n.body = body[1:] or [ast.Pass()]
    return node


def _definitions(trees: list[ast.Module]) -> dict[str, ast.AST]:
    """Top-level functions and classes by name, and methods as Class.method; last one wins."""
    found: dict[str, ast.AST] = {}
    for tree in trees:
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found[node.name] = node
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        found[f"{node.name}.{item.name}"] = item
    return found


def extract(
    sid: str, data: bytes, kind: str, stubs: tuple[str, ...], template: Code | None = None
) -> Code:
    """A submission's code, as the comparison sees it (see the module's docstring). A stub
    left as the template has it is not the student's: it is left out."""
    trees, notes = [], []
    cells = _cells(data, kind)
    if (size := sum(len(c) for c in cells)) > MAX_CODE_CHARS:
        why = f"{size:,} characters of code (the limit is {MAX_CODE_CHARS:,}): not compared"
        return Code(sid, {}, "", (why,))
    for i, cell in enumerate(cells):
        tree = _python(cell) if len(cell) <= MAX_CELL_CHARS else None
        if len(cell) > MAX_CELL_CHARS:
            notes.append(f"code cell {i + 1} is too long to compare ({len(cell):,} characters)")
        elif tree is None:
            notes.append(f"code cell {i + 1} is not Python: left out")
        else:
            trees.append(tree)
    defs = _definitions(trees)
    code = {s: text for s in stubs if s in defs and (text := _printed(defs[s], s, notes))}
    if template is not None:
        code = {s: c for s, c in code.items() if c != template.stubs.get(s)}
    classes = {s.split(".")[0] for s in stubs if "." in s}
    others = sorted(
        text
        for name, node in defs.items()
        if "." not in name and name not in stubs and name not in classes
        if (text := _printed(node, name, notes))
    )
    overall = "\n\n".join([*(code[s] for s in stubs if s in code), *others])
    return Code(sid, code, overall, tuple(notes))


def _printed(node: ast.AST, name: str, notes: list[str]) -> str:
    """A definition re-printed without its docstrings ("" if it cannot be: too deep)."""
    try:
        return ast.unparse(_without_docstrings(node))
    except (RecursionError, ValueError):
        notes.append(f"{name} could not be read: left out")
        return ""


class Fingerprints:
    """copydetect's fingerprints of one piece of code, the template's removed."""

    def __init__(self, text: str, boilerplate: Any = None) -> None:
        from copydetect import CodeFingerprint

        self.text = text
        self.fp = CodeFingerprint(
            "code.py", K, WINDOW, boilerplate=boilerplate, language="python", fp=io.StringIO(text)
        )
        self.hashes = frozenset(int(h) for h in self.fp.hashes)


def _score(x: Fingerprints, y: Fingerprints) -> float:
    smaller = min(len(x.hashes), len(y.hashes))
    return len(x.hashes & y.hashes) / smaller if smaller else 0.0


def spread_of(name: str, scores: list[float]) -> Spread:
    if not scores:
        return Spread(name, 0.0, MIN_SPREAD, 0)
    median = statistics.median(scores)
    mad = statistics.median(abs(s - median) for s in scores)
    return Spread(name, median, max(1.4826 * mad, MIN_SPREAD), len(scores))


@dataclass
class Comparison:
    pairs: list[Pair]  # most unusual first
    spreads: dict[str, Spread]  # per stub, and OVERALL
    fingerprints: dict[tuple[str, str], Fingerprints]  # (sid, stub or OVERALL)
    notes: dict[str, tuple[str, ...]]


def compare(codes: list[Code], template: Code, stubs: tuple[str, ...]) -> Comparison:
    """Every pair of submissions, per stub and overall, ranked by how far the whole
    submissions stand out (then by their most unusual stub); ``pairs_on`` ranks per stub."""
    boiler = _boilerplate(template)
    fps: dict[tuple[str, str], Fingerprints] = {}
    for c in codes:
        for stub, text in [*c.stubs.items(), (OVERALL, c.overall)]:
            fps[c.sid, stub] = Fingerprints(text, boiler)
    raw: dict[tuple[str, str], dict[str, float]] = {}
    for x, y in itertools.combinations(codes, 2):
        raw[x.sid, y.sid] = {
            stub: _score(fps[x.sid, stub], fps[y.sid, stub])
            for stub in (*stubs, OVERALL)
            if (x.sid, stub) in fps and (y.sid, stub) in fps
        }
    spreads = {
        name: spread_of(name, [s[name] for s in raw.values() if name in s])
        for name in (*stubs, OVERALL)
    }
    pairs = []
    for (a, b), s in raw.items():
        stub_scores = {k: v for k, v in s.items() if k != OVERALL}
        pairs.append(
            Pair(
                a, b, s.get(OVERALL, 0.0), _standout(s.get(OVERALL, 0.0), spreads[OVERALL]),
                stub_scores, {k: _standout(v, spreads[k]) for k, v in stub_scores.items()},
            )
        )  # fmt: skip
    pairs.sort(key=lambda p: (-p.standout, -p.most_unusual, p.a, p.b))
    return Comparison(pairs, spreads, fps, {c.sid: c.notes for c in codes})


def pairs_on(comparison: Comparison, stub: str) -> list[Pair]:
    """The pairs that both wrote ``stub``, most unusual on it first."""
    on = [p for p in comparison.pairs if stub in p.stubs]
    return sorted(on, key=lambda p: (-p.stub_standout[stub], p.a, p.b))


def _standout(score: float, spread: Spread) -> float:
    return (score - spread.median) / spread.spread


def _boilerplate(template: Code) -> Any:
    """The template's own code as copydetect boilerplate: its fingerprints, all of them."""
    import numpy as np

    text = "\n\n".join([template.overall, *template.stubs.values()])
    return np.unique(np.asarray(sorted(Fingerprints(text).hashes), dtype=np.int64))
