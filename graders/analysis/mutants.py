"""Mutation analysis of an assignment's checks: ``grader verify NAME --mutants``.

Each mutant is the reference solution with one small change inside one stub: an operator,
a comparison, a constant, a dropped statement (``optimizer.zero_grad()``, ``loss.backward()``,
``x += ...``), a loop bound, two arguments swapped, an axis or dim, ``mean`` for ``sum`` (and
back), a dropped ``detach``/``item``/cast/reshape call. Each is graded like a submission (the
run's kernels, every check, hidden ones too). A mutant is *killed* when it loses a point;
a survivor is listed with its line, and *identical* when its results equal the reference's
exactly on every check of its stub: the checks' inputs cannot tell it apart (often an
equivalent mutant, sometimes a missing input); the share killed leaves those out.
"""

from __future__ import annotations

import ast
import copy
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..grading.prepare import Prepared
from ..grading.schedule import grade_many
from ..intake.discover import load_file
from ..verdict.checks import Check
from ..verdict.codec import encode
from ..verdict.model import Report, Status
from ..verdict.results import ProbeKind

_SWAP_OPS: dict[type, type] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.Pow: ast.Mult, ast.FloorDiv: ast.Div, ast.MatMult: ast.Mult, ast.Mod: ast.FloorDiv,
}  # fmt: skip
_SWAP_CMP: dict[type, type] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn,
}  # fmt: skip
_SWAP_METHODS = {"mean": "sum", "sum": "mean", "max": "min", "min": "max", "argmax": "argmin"}
_DROP_CALLS = {
    "detach", "item", "float", "long", "double", "astype", "flatten", "ravel", "squeeze",
    "reshape", "view", "clone", "copy", "tolist", "numpy",
}  # fmt: skip


@dataclass(frozen=True)
class Mutant:
    id: str
    stub: str  # the stub it changes: a function, a class, or a class's method
    line: int
    operator: str
    before: str  # the line as the reference has it
    after: str  # the changed statement
    source: str  # the whole mutated solution


Parents = dict[int, tuple[ast.AST, str, "int | None"]]  # id(node) -> (parent, field, index)
Apply = Callable[[Any, Parents], None]  # makes one change, in place, at a node of a copy


def _parents(tree: ast.AST) -> Parents:
    out: Parents = {}
    for node in ast.walk(tree):
        for name, value in ast.iter_fields(node):
            if isinstance(value, list):
                for i, v in enumerate(value):
                    if isinstance(v, ast.AST):
                        out[id(v)] = (node, name, i)
            elif isinstance(value, ast.AST):
                out[id(value)] = (node, name, None)
    return out


def _replace(
    parents: dict[int, tuple[ast.AST, str, int | None]], old: ast.AST, new: ast.AST
) -> None:
    parent, name, index = parents[id(old)]
    if index is None:
        setattr(parent, name, new)
    else:
        getattr(parent, name)[index] = new


def _changes(node: ast.AST) -> Iterator[tuple[str, Apply]]:
    """The mutations that apply at ``node``: (operator name, how to apply it to a copy)."""
    if (isinstance(node, ast.BinOp) and type(node.op) in _SWAP_OPS) or (
        isinstance(node, ast.AugAssign) and type(node.op) in _SWAP_OPS
    ):
        yield "operator", lambda n, p: setattr(n, "op", _SWAP_OPS[type(n.op)]())
    elif isinstance(node, ast.Compare) and type(node.ops[0]) in _SWAP_CMP:
        yield "comparison", lambda n, p: n.ops.__setitem__(0, _SWAP_CMP[type(n.ops[0])]())
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
        yield "constant", lambda n, p: setattr(n, "value", _other_number(n.value))
    if isinstance(node, (ast.Expr, ast.AugAssign)) and not isinstance(
        getattr(node, "value", None), ast.Constant
    ):
        yield "dropped statement", lambda n, p: _replace(p, n, ast.Pass())
    if isinstance(node, ast.Call):
        yield from _call_changes(node)


def _call_changes(node: ast.Call) -> Iterator[tuple[str, Apply]]:
    func = node.func
    if isinstance(func, ast.Name) and func.id == "range" and node.args:
        last = len(node.args[:2]) - 1
        yield (
            "loop bound",
            lambda n, p: n.args.__setitem__(
                last, ast.BinOp(n.args[last], ast.Sub(), ast.Constant(1))
            ),
        )
    if isinstance(func, ast.Attribute) and func.attr in _SWAP_METHODS:
        yield "method", lambda n, p: setattr(n.func, "attr", _SWAP_METHODS[n.func.attr])
    if isinstance(func, ast.Attribute) and func.attr in _DROP_CALLS:
        yield f"dropped .{func.attr}()", lambda n, p: _replace(p, n, n.func.value)
    if len(node.args) >= 2 and not any(isinstance(a, ast.Starred) for a in node.args[:2]):
        yield (
            "arguments swapped",
            lambda n, p: n.args.__setitem__(slice(0, 2), [n.args[1], n.args[0]]),
        )
    for k, kw in enumerate(node.keywords):
        if kw.arg in ("axis", "dim") and isinstance(kw.value, ast.Constant):
            yield kw.arg, _other_axis(k)


def _other_axis(k: int) -> Apply:
    def apply(n: Any, p: Parents) -> None:
        value = n.keywords[k].value
        value.value = 0 if value.value else 1

    return apply


def _other_number(v: int | float) -> int | float:
    if isinstance(v, int):
        return v + 1
    return v * 2 if v else 1.0


def _statement(node: ast.AST, parents: Parents) -> ast.AST:
    while not isinstance(node, ast.stmt) and id(node) in parents:
        node = parents[id(node)][0]
    return node


def _definitions(tree: ast.Module, stubs: tuple[str, ...]) -> Iterator[tuple[str, ast.AST]]:
    """Each stub's definition: a top-level function or class, or one method of a class
    (``"FashionCSV.__getitem__"``: the rest of the class is the template's, not the stub)."""
    tops = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    for stub in stubs:
        name, _, method = stub.partition(".")
        top = tops.get(name)
        if top is not None and not method:
            yield stub, top
        elif isinstance(top, ast.ClassDef):
            yield from (
                (stub, n) for n in top.body if isinstance(n, ast.FunctionDef) and n.name == method
            )


def make_mutants(source: str, stubs: tuple[str, ...]) -> list[Mutant]:
    """Every single-change mutant inside the stubs' top-level definitions, without repeats
    (two changes that give the same program are one mutant)."""
    tree = ast.parse(source)
    owner: dict[int, str] = {}
    for stub, defn in _definitions(tree, stubs):
        for node in ast.walk(defn):
            if node is not defn and not isinstance(node, ast.arguments):
                owner[id(node)] = stub
    lines = source.splitlines()
    seen = {ast.unparse(tree)}
    out: list[Mutant] = []
    for i, node in enumerate(ast.walk(tree)):
        if id(node) not in owner:
            continue
        for operator, apply in _changes(node):
            mutated = copy.deepcopy(tree)
            target = list(ast.walk(mutated))[i]
            parents = _parents(mutated)
            stmt = _statement(target, parents)
            apply(target, parents)
            text = ast.unparse(mutated)
            if text in seen:
                continue
            seen.add(text)
            line = getattr(node, "lineno", 0)
            after = "pass" if operator == "dropped statement" else ast.unparse(stmt)
            out.append(Mutant(
                f"m{len(out) + 1:03d}", owner[id(node)], line, operator,
                lines[line - 1].strip() if 0 < line <= len(lines) else "",
                after.splitlines()[0] if after else "", text,
            ))  # fmt: skip
    return out


@dataclass
class MutantResult:
    """What grading made of one mutant."""

    mutant: Mutant
    killed: bool
    identical: bool  # survived with the reference's results, exactly, on its stub's checks
    lost: list[str]  # the checks that killed it
    passed: list[str]  # the checks that gave it full points


def stub_checks(p: Prepared, stub: str) -> list[Check]:
    """The checks of a stub (a class's include its methods' checks)."""
    return [c for c in p.suite.checks if stub in (c.stub, c.stub.split(".")[0])]


def _judge(p: Prepared, m: Mutant, report: Report) -> MutantResult:
    lost = [t.name for t in report.tests if t.score < t.max_score]
    killed = report.status is not Status.GRADED or bool(lost)
    passed = (
        []
        if report.status is not Status.GRADED
        else [t.name for t in report.tests if t.max_score > 0 and t.score >= t.max_score]
    )
    identical = False
    if not killed:
        mine = stub_checks(p, m.stub)
        identical = all(
            (got := report.probes.get(c.name)) is not None
            and (ref := p.reference.get(c.name)) is not None
            and got.kind == ref.kind == ProbeKind.VALUE
            and not got.failed_cases
            and encode(got.value) == encode(ref.value)
            for c in mine
        )
    return MutantResult(m, killed, identical, lost, passed)


async def run_mutants(
    p: Prepared, mutants: list[Mutant], label: str = "mutants"
) -> list[MutantResult]:
    """Grade every mutant with the run's kernels (``--jobs`` at a time); a line on stderr
    counts them as they finish."""
    by_id = {m.id: m for m in mutants}
    done: list[MutantResult] = []

    def progress(report: Report) -> None:
        done.append(_judge(p, by_id[report.submission.id], report))
        killed = sum(o.killed for o in done)
        print(f"\r  {label}: {len(done)}/{len(mutants)} graded, {killed} killed",
              end="", file=sys.stderr, flush=True)  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="grader-mutants-") as tmp:
        subs = []
        for m in mutants:
            path = Path(tmp) / f"{m.id}.py"
            path.write_text(m.source, encoding="utf-8")
            subs.append(load_file(path, m.id))
        await grade_many(p, subs, progress)
    print(file=sys.stderr)
    return sorted(done, key=lambda o: o.mutant.id)


def summary(outcomes: list[MutantResult]) -> dict[str, Any]:
    """The JSON summary: per stub, killed / counted (identical ones left out), survivors."""
    stubs: dict[str, dict[str, Any]] = {}
    for o in outcomes:
        s = stubs.setdefault(o.mutant.stub, {"mutants": 0, "killed": 0, "identical": 0})
        s["mutants"] += 1
        s["killed"] += o.killed
        s["identical"] += o.identical
    for s in stubs.values():
        counted = s["mutants"] - s["identical"]
        s["score"] = round(s["killed"] / counted, 4) if counted else 1.0
    counted = sum(s["mutants"] - s["identical"] for s in stubs.values())
    killed = sum(s["killed"] for s in stubs.values())
    fields = ("id", "stub", "line", "operator", "before", "after")
    return {
        "mutants": len(outcomes),
        "killed": killed,
        "identical": sum(s["identical"] for s in stubs.values()),
        "score": round(killed / counted, 4) if counted else 1.0,
        "stubs": stubs,
        "survivors": [
            {**{k: asdict(o.mutant)[k] for k in fields}, "identical": o.identical}
            for o in outcomes
            if not o.killed
        ],
    }


def print_summary(s: dict[str, Any], checks_of: Callable[[str], list[str]]) -> None:
    print(
        f"  mutants: {s['killed']} of {s['mutants'] - s['identical']} killed "
        f"({100 * s['score']:.1f}%); {s['identical']} give the reference's results exactly "
        "on every check input (not counted)"
    )
    for stub, st in s["stubs"].items():
        print(f"    {stub}: {st['killed']}/{st['mutants'] - st['identical']} killed"
              + (f", {st['identical']} identical" if st["identical"] else ""))  # fmt: skip
    for v in s["survivors"]:
        kind = "identical on the checks' inputs" if v["identical"] else "SURVIVED"
        print(f"  {kind}: {v['id']} {v['stub']} line {v['line']} ({v['operator']}): "
              f"{v['before']}  ->  {v['after']}")  # fmt: skip
        if not v["identical"]:
            print(f"      passed: {', '.join(checks_of(v['stub']))}")


def write_json(path: Path, s: dict[str, Any]) -> None:
    path.write_text(json.dumps(s, indent=1) + "\n", encoding="utf-8")
