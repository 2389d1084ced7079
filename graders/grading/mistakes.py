"""Known mistakes: a misconception recognised from the student's results, named in feedback.

An assignment's ``mistakes.py`` lists the course's typical mistakes. Each is a small variant
of the reference: a function (or class) that replaces one stub, or one method of a class stub
(``stub="FashionNet.forward"``: a plain function taking ``self``), with what a student reads::

    @mistake(
        stub="train",
        title="gradients accumulate across epochs",
        explain="Your losses match what happens when gradients accumulate across epochs",
        hint="call `optimizer.zero_grad()` before `loss.backward()` in every epoch",
    )
    def train_without_zero_grad(model, loss_fn, optimizer, X, y, epochs):
        ...

How it runs: the harness imports ``mistakes.py`` on its own first, to read the declarations
(so its top level may not use the reference's names); then each variant's source is appended
to the reference solution, followed by ``<stub> = <variant>`` (``FashionNet.forward =
forward_softmax`` for a method), and runs through the probes of the checks it concerns (its
stub's checks: a method's own, else its class's; see :func:`own_checks`; unless ``checks=``
names them) once,
like the reference and cached with it. When a check fails, the
student's result is compared with each mistake's result by the check's own comparator; the
first that matches is named above the numbers. A mistake never changes a score.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AssignmentError
from ..report.pages import atomic_write
from ..spec.assignment import Assignment
from ..verdict.checks import CheckSuite, _function_source, import_assignment_file
from ..verdict.diagnose import Mistake, Results, diagnose, matches
from ..verdict.results import ProbeKind, ProbeResult
from .execute import Source, execute_submission
from .reference import DIRECT, TrustedKernels, dump_results, load_results

MISTAKES_FILE = "mistakes.py"
__all__ = ["Mistake", "Results", "diagnose", "load_mistakes", "matches", "mistake"]


@dataclass(frozen=True)
class _Pending:
    func: Callable[..., Any]
    stub: str
    title: str
    explain: str
    hint: str
    checks: tuple[str, ...]


def mistake(
    *, stub: str, title: str, explain: str, hint: str, checks: Sequence[str] = ()
) -> Callable[[Callable[..., Any]], _Pending]:
    """Declare a known mistake: the decorated function replaces ``stub`` in the reference.
    ``checks``: the function names of the checks it concerns (default: every check of
    ``stub``)."""

    def wrap(func: Callable[..., Any]) -> _Pending:
        return _Pending(func, stub, title, explain, hint, tuple(checks))

    return wrap


def load_mistakes(path: Path, suite: CheckSuite) -> tuple[Mistake, ...]:
    """The mistakes in ``path`` (none when the file does not exist), in source order."""
    if not path.is_file():
        return ()
    module = import_assignment_file(path, "mistakes")
    pending = sorted(
        (v for v in vars(module).values() if isinstance(v, _Pending)),
        key=lambda p: _function_source(p.func, classes=True)[1],
    )
    by_func = {c.func_name: c for c in suite.checks}
    out = []
    for p in pending:
        where = f"{path.name}: {p.func.__name__}"
        owner = p.stub.split(".")[0]  # a method of a class stub may be replaced alone
        if suite.stubs and p.stub not in suite.stubs and owner not in suite.stubs:
            raise AssignmentError(
                f"{where}: {p.stub!r} is not one of the assignment's stubs (nor a method of one)"
            )
        unknown = [c for c in p.checks if c not in by_func]
        if unknown:
            raise AssignmentError(f"{where}: no check named {unknown[0]!r} in checks.py")
        names = [by_func[c].name for c in p.checks] or own_checks(p.stub, suite)
        src, _ = _function_source(p.func, classes=True)
        alias = f"\n{p.stub} = {p.func.__name__}\n" if p.func.__name__ != p.stub else ""
        out.append(
            Mistake(p.func.__name__, p.stub, p.title, p.explain, p.hint, src + alias, tuple(names))
        )
    return tuple(out)


def own_checks(stub: str, suite: CheckSuite) -> list[str]:
    """The checks a mistake in ``stub`` is judged on when it names none: a method's own checks
    (a mistake in ``Perceptron.backward`` is not weighed against ``Perceptron.evaluate``'s
    failures); a method without checks of its own, its class's (``stub="FashionNet"``
    checks test ``forward``); a class, its own and all its methods'."""
    owner = stub.split(".")[0]
    mine = [c.name for c in suite.checks if c.stub.split(".")[0] == owner]
    if stub == owner:
        return mine
    exact = [c.name for c in suite.checks if c.stub == stub]
    return exact or [c.name for c in suite.checks if c.stub == owner] or mine


async def run_mistakes(
    assignment: Assignment,
    suite: CheckSuite,
    mistakes: tuple[Mistake, ...],
    seed_for: dict[str, int],
    *,
    device: str,
    data: Path | None,
    trusted: TrustedKernels = DIRECT,
) -> Results:
    """Each variant (the reference with one stub replaced) through the probes of its checks;
    trusted code, run where the reference runs (reference.TrustedKernels)."""
    solution = assignment.reference_submission().read_bytes()
    gate = asyncio.Semaphore(max(1, trusted.jobs))

    async def one(m: Mistake) -> dict[str, ProbeResult]:
        checks = [c for c in suite.checks if c.name in m.checks]
        code = solution + b"\n\n# a known mistake, replacing one stub\n" + m.source.encode()
        async with gate:
            ex = await execute_submission(
                Source.from_module("solution.py", code).with_files(assignment.data_files),
                checks, trusted.sandbox_for(assignment), assignment.limits,
                seed_for=seed_for, device=device, data=data, preload=assignment.heavy_imports,
                provider=trusted.provider,
            )  # fmt: skip
        broken = [c for c in ex.cells if c.status not in ("ok", "skipped")]
        if broken:
            err = broken[0].error or {}
            raise AssignmentError(
                f"mistake {m.id!r} does not run: {err.get('type')}: {err.get('message')}"
            )
        return dict(ex.probes)

    results = await asyncio.gather(*(one(m) for m in mistakes))
    return {m.id: r for m, r in zip(mistakes, results, strict=True)}


def _cache_path(cache_dir: Path, assignment: Assignment, key: str, m: Mistake) -> Path:
    """One file per mistake: editing one reruns that one. ``key`` is the reference's cache
    key (its files, checks.py, the runtime, libraries, device, numerics): a change to any of
    them reruns every mistake; the mistake's own code, stub and checks are hashed here."""
    h = hashlib.sha256("\0".join([m.id, m.stub, m.source, *m.checks]).encode())
    return cache_dir / "mistakes" / f"{assignment.name}-{key}-{m.id}-{h.hexdigest()[:12]}.json"


def _cached(path: Path) -> dict[str, ProbeResult] | None:
    if not path.is_file():
        return None
    try:
        return load_results(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError):  # a damaged entry (CodecError too): recomputed
        return None


async def mistake_results(
    assignment: Assignment,
    suite: CheckSuite,
    mistakes: tuple[Mistake, ...],
    seed_for: dict[str, int],
    *,
    cache_dir: Path,
    key: str,
    device: str,
    data: Path | None,
    trusted: TrustedKernels = DIRECT,
) -> Results:
    """:func:`run_mistakes`, cached per mistake beside the reference's results; only the
    mistakes without a cache entry run."""
    paths = {m.id: _cache_path(cache_dir, assignment, key, m) for m in mistakes}
    results: Results = {}
    for m in mistakes:
        hit = _cached(paths[m.id])
        if hit is not None and all(n in hit for n in m.checks):
            results[m.id] = hit
    todo = tuple(m for m in mistakes if m.id not in results)
    if todo:
        fresh = await run_mistakes(
            assignment, suite, todo, seed_for, device=device, data=data, trusted=trusted
        )
        for mid, r in fresh.items():
            atomic_write(paths[mid], json.dumps(dump_results(r)))
        results.update(fresh)
    return {m.id: results[m.id] for m in mistakes}


def verify_mistakes(
    suite: CheckSuite, mistakes: tuple[Mistake, ...], reference: dict[str, ProbeResult],
    results: Results,
) -> list[str]:  # fmt: skip
    """Problems ``grader verify`` reports: a mistake that fails none of its checks (it could
    never be named), one whose variant raises, and two that no check tells apart."""
    by_name = {c.name: c for c in suite.checks}
    problems = []
    for m in mistakes:
        mine = results.get(m.id, {})
        raised = [n for n in m.checks if mine.get(n) is None or mine[n].kind != ProbeKind.VALUE]
        if raised:
            problems.append(
                f"mistake {m.id!r} gives no value on {raised[0]!r}: it cannot be recognised there"
            )
        failing = [
            n for n in m.checks if n in mine and not matches(by_name[n], reference.get(n), mine[n])
        ]
        if not failing:
            problems.append(f"mistake {m.id!r} fails none of its checks: it would never be named")
    for i, a in enumerate(mistakes):
        for b in mistakes[i + 1 :]:
            shared = [n for n in a.checks if n in b.checks]
            ra, rb = results.get(a.id, {}), results.get(b.id, {})
            if shared and all(
                n in ra and n in rb and matches(by_name[n], ra[n], rb[n]) for n in shared
            ):
                problems.append(
                    f"mistakes {a.id!r} and {b.id!r} give the same results on every check they "
                    "share: the diagnosis would be a guess"
                )
    return problems
