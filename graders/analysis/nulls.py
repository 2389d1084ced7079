"""Null variants: does a check fail an implementation that does nothing? (``grader verify``)

A check whose inputs are degenerate (the first 30 rows of class-sorted data, all one label:
the weights never move) passes an untouched or looping implementation, and mutation analysis
cannot see it: every mutant of a working solution still fails it somewhere else. So each
function or method stub of the reference is replaced, in turn, by three trivial bodies:

- ``return <its first input>``: hands back what it was given (``self`` does not count);
- ``return None``: does nothing (a training loop that never updates anything);
- ``return 0``: a constant.

Each variant is graded like a submission (the run's kernels, every check). A check of the
variant's stub that gives it full points is *weak*: a student who wrote nothing of substance
would pass it. ``verify`` lists each (a problem: the check needs inputs that tell a working
implementation from a trivial one), and ``--mutants`` reports them apart from the mutants.
Class stubs as a whole and ``__init__`` methods get no variants (a constructor returns None).
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

from ..grading.mistakes import own_checks
from ..grading.prepare import Prepared
from .mutants import Mutant, _definitions, run_mutants

KINDS = ("returns its first input", "does nothing (returns None)", "returns a constant (0)")


def _bodies(defn: ast.FunctionDef, method: bool) -> list[tuple[str, str]]:
    args = [a.arg for a in defn.args.posonlyargs + defn.args.args]
    first = args[1:2] if method else args[:1]
    out = [(KINDS[1], "return None"), (KINDS[2], "return 0")]
    if first:
        out.insert(0, (KINDS[0], f"return {first[0]}"))
    return out


def make_nulls(source: str, stubs: tuple[str, ...]) -> list[Mutant]:
    """The null variants of the reference ``source``, one stub at a time."""
    tree = ast.parse(source)
    out: list[Mutant] = []
    for i, (stub, defn) in enumerate(_definitions(tree, stubs)):
        if not isinstance(defn, ast.FunctionDef) or defn.name == "__init__":
            continue
        for kind, body in _bodies(defn, "." in stub):
            variant = copy.deepcopy(tree)
            target = [d for s, d in _definitions(variant, stubs)][i]
            assert isinstance(target, ast.FunctionDef)
            target.body = ast.parse(body).body
            out.append(Mutant(
                f"n{len(out) + 1:02d}", stub, defn.lineno, kind, f"def {defn.name}(...)",
                body, ast.unparse(variant),
            ))  # fmt: skip
    return out


@dataclass(frozen=True)
class Weak:
    """A check that a null variant of its stub passes."""

    check: str
    stub: str
    variant: str  # which trivial body passed it

    def line(self) -> str:
        return (f"check {self.check!r} passes a {self.stub} that {self.variant}: its inputs "
                "cannot tell a working implementation from a trivial one")  # fmt: skip


async def weak_checks(p: Prepared) -> list[Weak]:
    """Every (check, trivial body) where the body of the check's own stub passes it."""
    source = p.assignment.reference_submission().read_text(encoding="utf-8")
    made = make_nulls(source, p.assignment.stubs)
    if not made:
        return []
    by_id = {m.id: m for m in made}
    weak = []
    for outcome in await run_mutants(p, made, label="null variants"):
        m = by_id[outcome.mutant.id]
        mine = set(own_checks(m.stub, p.suite))
        passed = [n for n in outcome.passed if n in mine]
        weak += [Weak(name, m.stub, m.operator) for name in passed]
    return weak
