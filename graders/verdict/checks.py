"""The check API an assignment's ``checks.py`` is written in.

A check is a decorated *probe*: a self-contained function ``probe(student, ctx)`` that runs
inside the student's kernel (and, once, the reference's), calls the student's functions and
returns plain data. The harness compares the two results outside the sandbox::

    @check(stub="gradient_descent", points=5, compare=allclose(atol=1e-6), label="xs")
    def gd_example(student, ctx):
        '''the notebook's example'''
        return student.gradient_descent(lambda x: 2 * x, 1.0, 0.1, 10)

``stub`` is the function of the template it grades; the docstring's first line is its title,
and the student reads "<stub>: <title>" (older checks files write that whole line in the
docstring instead of ``stub=``). Probes are sent to the kernel as source, so they import what
they need inside their body and may call only functions marked with :func:`helper`; a name
from the checks file's own top level is refused when the file loads. A declared check stays
callable (``gd_example(student, ctx)``), so a probe can be unit-tested on its own.
"""

from __future__ import annotations

import ast
import base64
import builtins
import enum
import importlib.util
import inspect
import symtable
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AssignmentError
from .compare import AllClose, Comparator
from .typenote import TypePolicy


class Visibility(enum.Enum):
    PUBLIC = "public"  # inputs, expected and actual values are shown to the student
    HIDDEN = "hidden"  # the student sees that it failed and where, never the values


@dataclass(frozen=True)
class Plot:
    """A result drawn beside the reference's on the feedback page (public checks only):
    ``kind`` "line" (values per step) or "parabola" (steps on f(x) = x**2); ``key``, the
    field of a dict result to draw; ``caption``, the assignment's words under the plot."""

    kind: str
    key: str | None = None
    caption: str | None = None


@dataclass(frozen=True)
class Check:
    name: str  # "<stub>: <title>", what the student reads
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
    plot_caption: str | None = None
    hint: str = ""  # the instructor's advice, shown when the check fails
    # hidden_data/ files the probe reads with ctx.hidden_file(name): (name, base64) pairs
    files: tuple[tuple[str, str], ...] = ()
    types: TypePolicy = TypePolicy.NOTE  # a right value of another type: see typenote.py

    @property
    def hidden(self) -> bool:
        return self.visibility is Visibility.HIDDEN

    @property
    def title(self) -> str:
        return self.name.removeprefix(f"{self.stub}: ")


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
    stub: str | None = None
    plot_caption: str | None = None
    hint: str = ""
    files: tuple[str, ...] = ()
    types: TypePolicy = TypePolicy.NOTE
    skipped_scores: str = "zero"

    def __call__(self, student: Any, ctx: Any) -> Any:
        """Run the probe here, e.g. in a unit test with a stand-in student and context."""
        return self.func(student, ctx)


@dataclass(frozen=True)
class _Helper:
    func: Callable[..., Any]


def check(
    *,
    points: float,
    stub: str | None = None,
    hidden: bool = False,
    compare: Comparator | None = None,
    label: str = "result",
    cases: bool = False,
    timeout: float | None = None,
    plot: str | Plot | None = None,
    plot_key: str | None = None,
    feedback: str | None = None,
    hint: str = "",
    depends: Sequence[Any] = (),
    files: Sequence[str] = (),
    types: str = "note",
    skipped_scores: str = "zero",
) -> Callable[[Callable[..., Any]], _Pending]:
    """Declare a check of ``stub`` worth ``points``. ``cases=True``: the probe returns
    ``{case name: value}`` (or calls ``ctx.case``) and each case earns an equal share of the
    points. ``plot=Plot("line", key=..., caption=...)`` (or just "line"/"parabola") draws the
    result beside the reference's on the feedback page. ``hint``: a sentence of the
    instructor's, shown under a failure. ``depends=[other_check]`` (checks defined earlier,
    or their function names): this check runs only when all of those passed; otherwise it is
    skipped, says which to fix first and scores 0 (``skipped_scores="zero"``, the default:
    a failed prerequisite costs this check's points too); ``skipped_scores="own"``: it runs
    and scores on its own result whatever its prerequisites did (they then only order it).
    ``label`` names the value in messages (``xs: expected ...``); with "" a dict result's
    fields are named alone (``losses[3]: ...`` rather than ``result['losses'][3]: ...``).
    ``files=["holdout.csv"]`` (hidden checks only): files of the assignment's
    ``hidden_data/`` the probe reads with ``ctx.hidden_file(name)``. ``types``: a right value
    of another type than the reference's is said ("note", the default), fails ("strict": the
    type is the lesson) or is left alone ("ignore")."""
    drawn = Plot(plot, plot_key) if isinstance(plot, str) else plot
    if drawn is not None and drawn.kind not in ("line", "parabola"):
        raise AssignmentError(f"plot must be 'line' or 'parabola', not {drawn.kind!r}")
    shown, policy = _shown_and_types(feedback, hidden, types)
    if skipped_scores not in ("zero", "own"):
        raise AssignmentError(f"skipped_scores must be 'zero' or 'own', not {skipped_scores!r}")

    def wrap(func: Callable[..., Any]) -> _Pending:
        return _Pending(
            func=func,
            points=float(points),
            visibility=Visibility.HIDDEN if hidden else Visibility.PUBLIC,
            compare=compare if compare is not None else AllClose(),
            label=label,
            cases=cases,
            timeout=timeout,
            plot=drawn.kind if drawn else None,
            plot_key=drawn.key if drawn else None,
            feedback=shown,
            depends=tuple(depends),
            stub=stub,
            plot_caption=drawn.caption if drawn else None,
            hint=hint.strip(),
            files=tuple(files),
            types=policy,
            skipped_scores=skipped_scores,
        )

    return wrap


def _shown_and_types(feedback: str | None, hidden: bool, types: str) -> tuple[str, TypePolicy]:
    """What a student sees when the check fails: "full" (values), "message" (where it went
    wrong, no values: the default for hidden checks) or "none" (only that it failed); and the
    check's type policy (graders/verdict/typenote.py)."""
    shown = feedback or ("message" if hidden else "full")
    if shown not in ("full", "message", "none"):
        raise AssignmentError(f"feedback must be 'full', 'message' or 'none', not {feedback!r}")
    if types not in TypePolicy.__members__.values():
        raise AssignmentError(f"types must be 'note', 'strict' or 'ignore', not {types!r}")
    return shown, TypePolicy(types)


def helper(func: Callable[..., Any]) -> _Helper:
    """Mark a function that probes may call; its source travels with every probe."""
    return _Helper(func)


def _function_source(func: Callable[..., Any], classes: bool = False) -> tuple[str, int]:
    """The function's (or, with ``classes``, a class's) source without its decorators,
    dedented, and its line number."""
    src = textwrap.dedent(inspect.getsource(func))
    tree = ast.parse(src)
    node = tree.body[0]
    kinds = (ast.FunctionDef, ast.ClassDef) if classes else (ast.FunctionDef,)
    if not isinstance(node, kinds):
        raise AssignmentError(f"{func.__qualname__} is not a plain function")
    lines = src.splitlines()[node.lineno - 1 :]
    return "\n".join(lines) + "\n", inspect.getsourcelines(func)[1]


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
    sys.modules[spec.name] = module  # where inspect finds a class's source file
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise AssignmentError(f"{path}: {type(exc).__name__}: {exc}") from exc
    return module


def load_checks(path: Path, stubs: tuple[str, ...]) -> CheckSuite:
    """Import an assignment's ``checks.py`` and collect its checks in source order."""
    module = import_assignment_file(path, "checks")
    helpers: dict[str, tuple[str, int]] = {}
    pending: list[tuple[int, _Pending]] = []
    for value in vars(module).values():
        if isinstance(value, _Helper):
            helpers[value.func.__name__] = _function_source(value.func)
        elif isinstance(value, _Pending):
            pending.append((value.func.__code__.co_firstlineno, value))

    checks: list[Check] = []
    names: dict[str, str] = {}  # function name -> check name, of the checks defined so far
    for order, (_, p) in enumerate(sorted(pending, key=lambda t: t[0])):
        where = f"{path.name}: {p.func.__name__}"
        stub, title, description = _title(p, where, stubs)
        name = f"{stub}: {title}"
        if name in names.values():
            raise AssignmentError(f"{where}: two checks are named {name!r}")
        depends = tuple(_dependency(dep, names, where) for dep in p.depends)
        if p.skipped_scores == "own":  # runs whatever they did: they only order it
            depends = ()
        names[p.func.__name__] = name
        src, _ = _function_source(p.func)
        helper_src = _helpers_for(src, helpers)
        lint_free_names(helper_src + src, where)
        checks.append(
            Check(
                name=name, stub=stub, description=description, func_name=p.func.__name__,
                source=helper_src + src, points=p.points, visibility=p.visibility,
                compare=p.compare, label=p.label, cases=p.cases, timeout=p.timeout,
                order=order, plot=p.plot, plot_key=p.plot_key, feedback=p.feedback,
                depends=depends, plot_caption=p.plot_caption, hint=p.hint,
                files=_hidden_files(p, path.parent / HIDDEN_DATA, where), types=p.types,
            )
        )  # fmt: skip
    if not checks:
        raise AssignmentError(f"{path} defines no checks")
    return CheckSuite(tuple(checks), path, stubs)


def _helpers_for(src: str, helpers: dict[str, tuple[str, int]]) -> str:
    """The @helper functions a probe calls, directly or through other helpers, in source
    order: a probe travels with those only (a public check's bundle never carries a helper
    that only hidden checks use)."""
    needed: set[str] = set()
    todo = [src]
    while todo:
        names = {n.id for n in ast.walk(ast.parse(todo.pop())) if isinstance(n, ast.Name)}
        for name in sorted((names & helpers.keys()) - needed):
            needed.add(name)
            todo.append(helpers[name][0])
    return "".join(s for s, _ in sorted((helpers[n] for n in needed), key=lambda h: h[1]))


HIDDEN_DATA = "hidden_data"  # beside checks.py; never in the student bundle
MAX_HIDDEN_MB = 2  # sent with every call of the probe


def _hidden_files(p: _Pending, folder: Path, where: str) -> tuple[tuple[str, str], ...]:
    """The files a hidden check reads (``files=``), from the assignment's hidden_data/."""
    if not p.files:
        return ()
    if p.visibility is not Visibility.HIDDEN:
        raise AssignmentError(
            f"{where}: files= is for hidden checks (a public check's inputs ship to students); "
            "put public data in the assignment's data/ folder"
        )
    out = []
    for name in p.files:
        path = folder / name
        if ".." in Path(name).parts or not path.is_file():
            raise AssignmentError(f"{where}: no file {name!r} in {folder}")
        out.append((name, base64.b64encode(path.read_bytes()).decode()))
    if sum(len(b) for _, b in out) > MAX_HIDDEN_MB << 20:
        raise AssignmentError(f"{where}: files= over {MAX_HIDDEN_MB} MB (sent with each call)")
    return tuple(out)


def _title(p: _Pending, where: str, stubs: tuple[str, ...]) -> tuple[str, str, str]:
    """The check's stub, title and description, from ``stub=`` and its docstring (or, in
    older checks files, a docstring that starts with '<stub>: ')."""
    doc = inspect.getdoc(p.func) or ""
    title, _, description = doc.partition("\n")
    stub = p.stub
    if stub is None:
        stub, sep, title = title.partition(":")
        if not sep:
            raise AssignmentError(
                f"{where}: say which stub it checks: @check(stub=..., ...), or a docstring "
                "that starts with '<stub>: <title>'"
            )
    else:
        title = title.removeprefix(f"{stub}:")
    stub, title = stub.strip(), title.strip()
    if not is_stub_name(stub) or not title:
        raise AssignmentError(
            f"{where}: needs a stub (a function or class name, or Class.method) and a "
            "docstring title"
        )
    if stubs and stub not in stubs:
        raise AssignmentError(f"{where}: {stub!r} is not one of the assignment's stubs")
    return stub, title, description.strip()


def is_stub_name(stub: str) -> bool:
    """``train``, ``TinyNet`` (a class), ``Perceptron.train`` (a method)."""
    parts = stub.split(".")
    return 1 <= len(parts) <= 2 and all(p.isidentifier() for p in parts)


def _dependency(dep: _Pending | str, names: dict[str, str], where: str) -> str:
    dep_name = dep.func.__name__ if isinstance(dep, _Pending) else dep
    if not isinstance(dep_name, str) or dep_name not in names:
        raise AssignmentError(
            f"{where}: depends on {dep_name!r}, which is not a check defined above it"
        )
    return names[dep_name]


def lint_free_names(source: str, where: str) -> None:
    """Refuse a probe that uses a name it will not have in the kernel: it runs there as
    ``source`` alone (its helpers and itself), so a module-level import or constant of the
    checks file would be a NameError, blamed on every student."""
    table = symtable.symtable(source, "<probe>", "exec")
    defined = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    known = defined | set(dir(builtins))
    free: set[str] = set()
    todo = list(table.get_children())
    while todo:
        scope = todo.pop()
        todo.extend(scope.get_children())
        for sym in scope.get_symbols():
            if sym.is_referenced() and sym.is_global() and sym.get_name() not in known:
                free.add(sym.get_name())
    if free:
        names = ", ".join(sorted(free))
        raise AssignmentError(
            f"{where}: uses {names}, which the probe will not have in the kernel: a probe "
            "runs alone there, with only the @helper functions; import inside the probe, or "
            "make the code a @helper"
        )
