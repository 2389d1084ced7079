"""``grader import``: what otter's and nbgrader's importers share.

An importer reads the incumbent's source (an otter master notebook, an nbgrader source folder)
into :class:`Converted`: the student template, the reference module, and per question its
test cases. This module turns that into an assignment folder that ``grader verify`` accepts:

- Each test case stays the incumbent's code, run in the student's namespace, in order, as the
  incumbents run them (a test may delete a name and put it back: nbgrader's "uses squares").
  A case whose last line is an expression (otter's doctest ``square(2) == 4``, ``len(x)``) is
  a *value* case: the kernel computes the value and the harness compares it with the
  reference's, outside the kernel, as our own checks do. Any other case (``assert ...``, a
  loop of asserts) is a *probe*: it passes when it raises nothing, so its verdict is computed
  in the student's kernel, and its title says so.
- Points follow the incumbent's rule (the importer resolves them per case); cases of one
  question with the same visibility, kind and points become one check whose cases share its
  points equally; an all-or-nothing question becomes one check without cases.
- Manual questions become ``[[manual]]`` items: shown as graded by hand, never scored here.
- ``import-report.md`` beside the assignment says, per question, what was converted and what
  was not, and why.
"""

from __future__ import annotations

import ast
import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..errors import UsageError
from ..intake import notebook
from .scaffold import NAME

KERNEL_NOTE = "{}: {} verdict is computed in the student's kernel"


@dataclass(frozen=True)
class Case:
    """One test case of the incumbent: its code, visibility and resolved points."""

    source: str
    hidden: bool
    points: float
    probe: bool = False  # judged by raising or not, whatever its last line (nbgrader's rule)

    @property
    def kind(self) -> str:
        """``value`` (compared outside the kernel) or ``probe`` (passes when it raises)."""
        if self.probe:
            return "probe"
        try:
            tree = ast.parse(self.source)
        except SyntaxError:
            return "probe"  # it fails the same way for everyone; run it and let it say so
        return "value" if tree.body and isinstance(tree.body[-1], ast.Expr) else "probe"


@dataclass
class Question:
    name: str  # the stub the checks are filed under (an identifier)
    title: str  # the prompt's first line, for the report and the manual item
    cases: list[Case] = field(default_factory=list)
    manual: bool = False
    points: float = 0.0  # a manual question's points (autograded: the sum of its cases)
    all_or_nothing: bool = False
    notes: list[str] = field(default_factory=list)  # what the import could not keep, and why

    @property
    def total(self) -> float:
        """What the question is worth: a manual one its points, another its cases' sum."""
        return self.points if self.manual else sum(c.points for c in self.cases)


@dataclass
class Converted:
    kind: str  # "otter" | "nbgrader"
    name: str
    title: str
    source: Path
    template: nbformat.NotebookNode
    reference: str  # reference/<name>/solution.py
    questions: list[Question]
    notes: list[str] = field(default_factory=list)  # about the whole notebook


def identifier(name: str, taken: set[str]) -> str:
    """A question's name as a stub: an identifier, unique in its assignment (``q1.1`` ->
    ``q1_1``; a second ``q1`` -> ``q1_``)."""
    out = re.sub(r"\W", "_", name) or "question"
    out = out if out[0].isalpha() else f"q_{out}"
    while out in taken:
        out += "_"
    taken.add(out)
    return out


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The incumbent's notebook (decoded as a submission is: ``intake.notebook.decode``), or a
    UsageError saying why there is none. Python notebooks only."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from exc
    text, _, problem = notebook.decode(data, "the notebook")
    if text is None:
        raise UsageError(f"{path}: {problem}")
    try:
        nb: nbformat.NotebookNode = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat meets whatever the file holds: JSON, schema, upgrade
        raise UsageError(
            f"{path}: not a notebook nbformat can read ({type(exc).__name__})"
        ) from exc
    language = notebook.kernel_language(nb.metadata)
    if language and "python" not in language.lower():
        raise UsageError(f"{path} is written for a {language} kernel; only Python is imported")
    return nb


def points(value: object, where: str) -> float:
    """A number of points as the incumbent's file gives it, or a UsageError naming where."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    raise UsageError(f"{where}: points must be a number of at least 0, not {value!r}")


def resolve_points(total: object, given: list[object], where: str) -> list[float]:
    """Per-case points by otter's rule (``TestFile.resolve_test_file_points`` in
    otter/test_files/abstract_test.py): a list gives each case its points; a total is what
    the cases' own points leave, shared by the others; no total: the cases' own points, or 1
    shared by all when none has any."""
    if isinstance(total, list):
        if len(total) != len(given):
            raise UsageError(f"{where}: {len(total)} points for {len(given)} test cases")
        return [points(p, where) for p in total]
    own = [None if p is None else points(p, where) for p in given]
    fixed = sum(p for p in own if p is not None)
    open_ = sum(1 for p in own if p is None)
    if total is not None:
        whole = points(total, where)
        if fixed > whole:
            raise UsageError(
                f"{where}: the test cases' points ({fixed:g}) exceed the question's ({whole:g})"
            )
        share = (whole - fixed) / open_ if open_ else 0.0
    else:
        share = 1.0 / open_ if fixed == 0 and open_ else 0.0
    return [p if p is not None else share for p in own]


HEADER = '''"""Checks converted by `grader import {kind}` from {source}.

Each case is the {kind} test's own code, run in the student's namespace. A value case
(its last line an expression) is compared with the reference's value outside the kernel; an
assert case passes when it raises nothing, so its verdict is computed in the student's kernel.
See import-report.md for what was converted and what was not."""

from graders import allclose, check, helper

SAME = allclose(rtol=1e-9, atol=1e-12)


@helper
def _run_test(student, kind, source):
    """One converted test in the student's namespace, as otter and nbgrader run them (a test
    may set or delete names, for the tests after it too): the value of its last line (kind
    "value"), or True when it raises nothing (kind "probe")."""
    import ast

    ns = object.__getattribute__(student, "_ns")
    tree = ast.parse(source)
    last = tree.body[-1] if kind == "value" else None
    body = tree.body[:-1] if last is not None else tree.body
    exec(compile(ast.Module(body=body, type_ignores=[]), "<test>", "exec"), ns)
    if last is None:
        return True
    return eval(compile(ast.Expression(last.value), "<test>", "eval"), ns)
'''


def _groups(q: Question) -> list[list[tuple[int, Case]]]:
    """Cases that can share one check: same visibility, kind and points, in order."""
    numbered = list(enumerate(q.cases, 1))
    if q.all_or_nothing:
        return [numbered] if numbered else []
    out: dict[tuple[bool, str, float], list[tuple[int, Case]]] = {}
    for i, c in numbered:
        out.setdefault((c.hidden, c.kind, round(c.points, 9)), []).append((i, c))
    return list(out.values())


def _numbers(nums: list[int]) -> str:
    return f"test {nums[0]}" if len(nums) == 1 else f"tests {', '.join(map(str, nums))}"


def _check_source(q: Question, group: list[tuple[int, Case]], fn: str) -> str:
    hidden = any(c.hidden for _, c in group)
    probe = any(c.kind == "probe" for _, c in group)
    points = round(sum(c.points for _, c in group), 12)
    title = ("hidden " if hidden else "") + _numbers([i for i, _ in group])
    if q.all_or_nothing and q.title:  # one check for the question: its own words
        title = ("hidden: " if hidden else "") + q.title
    if probe:
        many = sum(c.kind == "probe" for _, c in group) > 1
        title += (
            " ("
            + KERNEL_NOTE.format(*(("asserts", "their") if many else ("an assert", "its")))
            + ")"
        )
    cases = not q.all_or_nothing
    items = ",\n".join(f"        ({f'test {i}'!r}, {c.kind!r}, {c.source!r})" for i, c in group)
    call = (
        "        ctx.case(name, _run_test, student, kind, source)"
        if cases
        else "        out[name] = _run_test(student, kind, source)"
    )
    return (
        f"\n\n@check(stub={q.name!r}, points={points!r}, hidden={hidden}, cases={cases}, "
        f'compare=SAME, types="ignore", label={q.name!r})\n'
        f"def {fn}(student, ctx):\n"
        f"    {json.dumps(title)}\n"
        + ("" if cases else "    out = {}\n")
        + f"    for name, kind, source in [\n{items},\n    ]:\n{call}\n"
        + ("" if cases else "    return out\n")
    )


def checks_source(conv: Converted) -> str:
    text = HEADER.format(kind=conv.kind, source=conv.source.name)
    for q in conv.questions:
        if q.manual:
            continue
        for k, group in enumerate(_groups(q), 1):
            text += _check_source(q, group, f"{q.name}_{k}")
    return text


def _toml(conv: Converted) -> str:
    graded = [q.name for q in conv.questions if not q.manual and q.cases]
    lines = [
        f"name = {json.dumps(conv.name)}",
        f"title = {json.dumps(conv.title)}",
        'version = "1.0.0"',
        f"# `grader import {conv.kind}` of {conv.source.name}: one stub per question.",
        f"stubs = [{', '.join(json.dumps(s) for s in graded)}]",
        "",
        "[grading]",
        "# Hidden checks draw their inputs from this seed. Keep it secret; it is never shipped.",
        f'secret_seed = "{secrets.token_hex(16)}"',
        f"total_points = {sum(q.total for q in conv.questions if not q.manual):.12g}",
        f"# {conv.kind}'s hidden tests have fixed inputs: verify does not ask them to be seeded",
        "fixed_hidden_inputs = true",
    ]
    for q in conv.questions:
        if q.manual:
            lines += ["", "[[manual]]", f"name = {json.dumps(q.name)}",
                      f"title = {json.dumps(q.title)}", f"points = {q.points:g}"]  # fmt: skip
    return "\n".join(lines) + "\n"


def report_text(conv: Converted) -> str:
    """import-report.md: per question, what was converted, what was not, and why."""
    out = [f"# `grader import {conv.kind}` of {conv.source.name}", ""]
    out += [f"- {n}" for n in conv.notes]
    out += ["", "| question | points | converted | not converted |", "|---|---|---|---|"]
    for q in conv.questions:
        if q.manual:
            done = f"graded by hand ({q.points:g} points, listed in gradebook.csv)"
        else:
            kinds = [c.kind for c in q.cases]
            hidden = sum(c.hidden for c in q.cases)
            done = (
                f"{len(q.cases)} test(s): {kinds.count('value')} compared outside the kernel, "
                f"{kinds.count('probe')} judged in the kernel (asserts), {hidden} hidden"
            )
            if q.all_or_nothing:
                done += ", all or nothing"
        out.append(f"| {q.name} | {q.total:g} | {done} | {'; '.join(q.notes) or '-'} |")
    return "\n".join(out) + "\n"


def write_assignment(conv: Converted, root: Path) -> list[Path]:
    """assignments/NAME/{assignment.toml, template.ipynb, checks.py, import-report.md} and
    reference/NAME/solution.py below ``root``; refuse to overwrite anything."""
    if not NAME.match(conv.name):
        raise UsageError(f"{conv.name!r} is not a usable assignment name: pass --name NAME "
                         "(lower case letters, digits and _, starting with a letter)")  # fmt: skip
    folder, ref = root / "assignments" / conv.name, root / "reference" / conv.name
    for d in (folder, ref):
        if d.exists():
            raise UsageError(f"{d} already exists; choose another --name or remove it")
    files = {
        folder / "assignment.toml": _toml(conv),
        folder / "template.ipynb": nbformat.writes(conv.template) + "\n",
        folder / "checks.py": checks_source(conv),
        folder / "import-report.md": report_text(conv),
        ref / "solution.py": conv.reference,
    }
    folder.mkdir(parents=True)
    ref.mkdir(parents=True)
    for path, text in files.items():
        path.write_text(text)
    return list(files)


def module_source(cells: list[str]) -> str:
    """Code cells as one module: IPython magics and shell lines become comments (the
    reference runs as a module), the incumbent's own client lines are dropped."""
    out = []
    for src in cells:
        lines = []
        for line in src.splitlines():
            s = line.strip()
            if s.startswith(("%", "!")):
                lines.append(f"# {line}  (an IPython line; not run in the reference)")
            elif _incumbent_line(s):
                continue
            else:
                lines.append(line)
        if any(x.strip() for x in lines):
            out.append("\n".join(lines))
    return "\n\n\n".join(out) + "\n"


def _incumbent_line(s: str) -> bool:
    """otter's client (``import otter``, ``grader = otter.Notebook()``, ``grader.check``):
    our harness grades instead, and students do not have it."""
    return s in ("import otter",) or s.startswith(
        ("grader = otter.", "grader.check", "grader.export", "otter.")
    )


def strip_incumbent(src: str) -> str:
    return "\n".join(line for line in src.splitlines() if not _incumbent_line(line.strip()))


def default_name(source: Path) -> str:
    """A usable assignment name from a file or folder name: ``demo.ipynb`` -> ``demo``."""
    stem = source.stem if source.is_file() else source.resolve().name
    name = "_".join(
        filter(None, "".join(c if c.isalnum() else "_" for c in stem.lower()).split("_"))
    )
    return name if NAME.match(name) else f"a_{name}"[:64]


def import_command(fmt: str, source: Path, name: str | None, root: Path) -> int:
    """``grader import otter|nbgrader SOURCE``: write the assignments, print what was done."""
    if not source.exists():
        raise UsageError(f"{source} does not exist")
    if fmt == "otter":
        from .otter import convert

        done = [convert(source, name or default_name(source))]
    else:
        from .nbgrader import convert_all

        done = convert_all(source, name or default_name(source))
    for conv in done:
        for path in write_assignment(conv, root):
            print(f"wrote {path}")
        auto = [q for q in conv.questions if not q.manual]
        manual = [q for q in conv.questions if q.manual]
        auto_pts = sum(q.total for q in auto)
        print(
            f"{conv.name}: {len(auto)} questions graded automatically ({auto_pts:g} points), "
            f"{len(manual)} graded by hand ({sum(q.total for q in manual):g} points)"
        )
        for q in conv.questions:
            for note in q.notes:
                print(f"  {q.name}: {note}")
        print(f"see {root / 'assignments' / conv.name / 'import-report.md'}; "
              f"next: grader verify {conv.name}")  # fmt: skip
    return 0
