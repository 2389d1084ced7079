"""The check API an assignment's ``checks.py`` is written in.

A check is a decorated *probe*: a self-contained function ``probe(student, ctx)`` that runs
inside the student's kernel (and, once, the reference's), calls the student's functions and
returns plain data. The harness compares the two results outside the sandbox::

    @check(points=5, compare=allclose(atol=1e-6), label="xs")
    def gd_example(student, ctx):
        '''gradient_descent: the notebook's example'''
        return student.gradient_descent(lambda x: 2 * x, 1.0, 0.1, 10)

The docstring's first line is the check's name, which the student reads; it begins with the
stub it grades. Probes are sent to the kernel as source, so they import what they need inside
their body and may call only functions marked with :func:`helper`.
"""

from __future__ import annotations

import ast
import enum
import importlib.util
import inspect
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compare import AllClose, Comparator
from .errors import AssignmentError


class Visibility(enum.Enum):
    PUBLIC = "public"  # inputs, expected and actual values are shown to the student
    HIDDEN = "hidden"  # the student sees that it failed and where, never the values


@dataclass(frozen=True)
class Check:
    name: str
    stub: str
    description: str
    func_name: str
    source: str
    points: float
    visibility: Visibility
    compare: Comparator
    label: str
    cases: bool
    timeout: float | None
    order: int = 0
    plot: str | None = None  # "line" or "parabola": drawn on the feedback page (public only)
    plot_key: str | None = None  # which field of a dict result to draw
    feedback: str = "full"  # what a student sees of a failure: full | message | none
    depends: tuple[str, ...] = ()  # names of earlier checks that must pass before this one runs

    @property
    def hidden(self) -> bool:
        return self.visibility is Visibility.HIDDEN


@dataclass(frozen=True)
class _Pending:
    """What the decorator leaves behind; the loader turns it into a :class:`Check`."""

    func: Callable[..., Any]
    points: float
    visibility: Visibility
    compare: Comparator
    label: str
    cases: bool
    timeout: float | None
    plot: str | None
    plot_key: str | None
    feedback: str
    depends: tuple[_Pending | str, ...] = ()


@dataclass(frozen=True)
class _Helper:
    func: Callable[..., Any]


def check(
    *,
    points: float,
    hidden: bool = False,
    compare: Comparator | None = None,
    label: str = "result",
    cases: bool = False,
    timeout: float | None = None,
    plot: str | None = None,
    plot_key: str | None = None,
    feedback: str | None = None,
    depends: Sequence[Any] = (),
) -> Callable[[Callable[..., Any]], _Pending]:
    """Declare a check. ``cases=True``: the probe returns ``{case name: value}`` and each
    case earns an equal share of the points. ``plot="line"`` or ``"parabola"`` draws the
    result (or its ``plot_key`` field) beside the reference's on the feedback page.
    ``depends=[other_check]`` (checks defined earlier, or their function names): this check
    runs only when all of those passed; otherwise it is skipped and says which to fix first."""
    if plot not in (None, "line", "parabola"):
        raise AssignmentError(f"plot must be 'line' or 'parabola', not {plot!r}")
    # What a student sees when the check fails: "full" (values), "message" (where it went
    # wrong, no values: the default for hidden checks) or "none" (only that it failed).
    shown = feedback or ("message" if hidden else "full")
    if shown not in ("full", "message", "none"):
        raise AssignmentError(f"feedback must be 'full', 'message' or 'none', not {feedback!r}")

    def wrap(func: Callable[..., Any]) -> _Pending:
        return _Pending(
            func=func,
            points=float(points),
            visibility=Visibility.HIDDEN if hidden else Visibility.PUBLIC,
            compare=compare if compare is not None else AllClose(),
            label=label,
            cases=cases,
            timeout=timeout,
            plot=plot,
            plot_key=plot_key,
            feedback=shown,
            depends=tuple(depends),
        )

    return wrap


def helper(func: Callable[..., Any]) -> _Helper:
    """Mark a function that probes may call; its source travels with every probe."""
    return _Helper(func)


def _function_source(func: Callable[..., Any]) -> tuple[str, int]:
    """The function's source without its decorators, dedented, and its line number."""
    src = textwrap.dedent(inspect.getsource(func))
    tree = ast.parse(src)
    node = tree.body[0]
    if not isinstance(node, ast.FunctionDef):
        raise AssignmentError(f"{func.__qualname__} is not a plain function")
    lines = src.splitlines()[node.lineno - 1 :]
    return "\n".join(lines) + "\n", func.__code__.co_firstlineno


@dataclass(frozen=True)
class CheckSuite:
    checks: tuple[Check, ...]
    path: Path
    stubs: tuple[str, ...] = field(default=())

    @property
    def total_points(self) -> float:
        return sum(c.points for c in self.checks)

    def public(self) -> CheckSuite:
        return CheckSuite(tuple(c for c in self.checks if not c.hidden), self.path, self.stubs)


def import_assignment_file(path: Path, kind: str) -> Any:
    """Import one of an assignment's Python files (``checks``, ``mistakes``) as a module; any
    error in it is the assignment's, said with the file's name."""
    spec = importlib.util.spec_from_file_location(f"grader_{kind}_{path.parent.name}", path)
    if spec is None or spec.loader is None:
        raise AssignmentError(f"cannot load {kind} from {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise AssignmentError(f"{path}: {type(exc).__name__}: {exc}") from exc
    return module


def load_checks(path: Path, stubs: tuple[str, ...]) -> CheckSuite:
    """Import an assignment's ``checks.py`` and collect its checks in source order."""
    module = import_assignment_file(path, "checks")

    helpers = []
    pending: list[tuple[int, _Pending]] = []
    for value in vars(module).values():
        if isinstance(value, _Helper):
            helpers.append(_function_source(value.func))
        elif isinstance(value, _Pending):
            pending.append((value.func.__code__.co_firstlineno, value))
    helper_src = "".join(src for src, _ in sorted(helpers, key=lambda h: h[1]))

    checks: list[Check] = []
    seen: set[str] = set()
    names: dict[str, str] = {}  # function name -> check name, of the checks defined so far
    for order, (_, p) in enumerate(sorted(pending, key=lambda t: t[0])):
        doc = inspect.getdoc(p.func) or ""
        title, _, rest = doc.partition("\n")
        stub, sep, _ = title.partition(":")
        where = f"{path.name}: {p.func.__name__}"
        if not sep or not title.strip():
            raise AssignmentError(f"{where}: the docstring must start with '<stub>: <title>'")
        if stubs and stub not in stubs:
            raise AssignmentError(f"{where}: {stub!r} is not one of the assignment's stubs")
        if title in seen:
            raise AssignmentError(f"{where}: two checks are named {title!r}")
        seen.add(title)
        depends = []
        for dep in p.depends:
            dep_name = dep.func.__name__ if isinstance(dep, _Pending) else dep
            if not isinstance(dep_name, str) or dep_name not in names:
                raise AssignmentError(
                    f"{where}: depends on {dep_name!r}, which is not a check defined above it"
                )
            depends.append(names[dep_name])
        names[p.func.__name__] = title.strip()
        src, _ = _function_source(p.func)
        checks.append(
            Check(
                name=title.strip(),
                stub=stub,
                description=rest.strip(),
                func_name=p.func.__name__,
                source=helper_src + src,
                points=p.points,
                visibility=p.visibility,
                compare=p.compare,
                label=p.label,
                cases=p.cases,
                timeout=p.timeout,
                order=order,
                plot=p.plot,
                plot_key=p.plot_key,
                feedback=p.feedback,
                depends=tuple(depends),
            )
        )
    if not checks:
        raise AssignmentError(f"{path} defines no checks")
    return CheckSuite(tuple(checks), path, stubs)
