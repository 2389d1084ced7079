"""``grader import otter MASTER.ipynb``: an otter-grader master notebook as an assignment.

The format, as otter's own code reads it (ucbds-infra/otter-grader):
- Raw cells delimit: ``# ASSIGNMENT CONFIG`` (YAML), ``# BEGIN QUESTION`` (YAML: ``name``,
  ``points``, ``manual``; ``otter/assign/question_config.py``), ``# BEGIN/END SOLUTION``,
  ``# BEGIN/END TESTS``, ``# END QUESTION``.
- A test cell is one case; it is hidden when its first line is a comment with the word
  "hidden"; a BEGIN TEST CONFIG ... END TEST CONFIG string block sets its ``points``
  and ``hidden`` (``AssignmentTestsManager.read_test``, ``otter/assign/tests_manager.py``).
- Points per case: ``TestFile.resolve_test_file_points`` (``otter/test_files/abstract_test.py``),
  see :func:`graders.authoring.importing.resolve_points`; an OK-format question scores
  partial credit (``OKTestFile.from_spec``: ``all_or_nothing`` defaults to False) unless it
  says otherwise.
- The student version (``otter/assign/solutions.py``): a line ``x = 1 # SOLUTION`` becomes
  ``x = ...``, any other line ending ``# SOLUTION`` becomes ``...``; a ``# BEGIN SOLUTION`` block
  in a cell becomes ``...`` at its indentation (nothing with ``NO PROMPT``); the lines between
  ``# BEGIN PROMPT`` and ``# END PROMPT`` are kept, those two lines dropped; a Markdown solution
  cell becomes "_Type your answer here, replacing this text._"; tests and delimiters go.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import yaml

from ..errors import UsageError
from ..student.cells import check_cell, framed
from .importing import (
    Case,
    Converted,
    Question,
    identifier,
    module_source,
    points,
    read_notebook,
    resolve_points,
    strip_incumbent,
)

ASSIGN_LINE = re.compile(r"^(\s*[A-Za-z0-9_ ,\[\]\.]*=)(.*?)\s*#\s*SOLUTION\s*$")
SOLUTION_LINE = re.compile(r"^(\s*)([^#\n]+?)\s*#\s*SOLUTION\s*$")
BEGIN = re.compile(r"^(\s*)#\s*BEGIN SOLUTION( NO PROMPT)?\s*$", re.I)
END = re.compile(r"^\s*#\s*END SOLUTION\s*$", re.I)
PROMPT = re.compile(r"#\s*(BEGIN|END) PROMPT\s*$", re.I)
TEST_CONFIG = re.compile(r'^(?:.\s*=\s*)?"""?\s*#\s*BEGIN\s*TEST\s*CONFIG', re.I)
TEST_CONFIG_END = re.compile(r'^"""?\s*#\s*END\s*TEST\s*CONFIG', re.I)
MD_ANSWER = "_Type your answer here, replacing this text._"


def student_lines(source: str) -> str:
    """A solution cell as otter's student version has it (see the module docstring)."""
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        if PROMPT.search(line) or line.rstrip().endswith("# SOLUTION NO PROMPT"):
            continue
        if inside:
            inside = not END.match(line)
            continue
        if m := BEGIN.match(line):
            inside = True
            if not m.group(2):
                out.append(m.group(1) + "...")
            continue
        if m := ASSIGN_LINE.match(line):
            line = m.group(1) + " ..."
        elif m := SOLUTION_LINE.match(line):
            line = m.group(1) + "..."
        out.append(line)
    if inside:
        raise UsageError(f"BEGIN SOLUTION without END SOLUTION in: {source[:80]!r}")
    return "\n".join(out)


def reference_lines(source: str) -> str:
    """A solution cell as the reference runs it: the prompt block dropped, markers kept as
    comments."""
    out, prompt = [], False
    for line in source.splitlines():
        m = PROMPT.search(line)
        if m:
            prompt = m.group(1).upper() == "BEGIN"
            continue
        if not prompt:
            out.append(line)
    return "\n".join(out)


def _raw_head(cell: Any) -> tuple[str, str]:
    """A raw delimiter cell's first line (upper case) and the YAML after it."""
    lines = cell.source.strip().splitlines() or [""]
    return lines[0].strip().lstrip("#").strip().upper(), "\n".join(lines[1:])


def _yaml(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"{where}: not YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected `key: value` lines")
    return data


def _test_case(cell: Any) -> tuple[str, bool, float | None]:
    lines = cell.source.splitlines() or [""]
    hidden = lines[0].lstrip().startswith("#") and bool(re.search(r"\bhidden\b", lines[0], re.I))
    start = 1 if hidden else 0
    config: dict[str, Any] = {}
    if TEST_CONFIG.match(lines[0]):
        end = next((i for i, x in enumerate(lines) if i and TEST_CONFIG_END.match(x)), 0)
        config = _yaml("\n".join(lines[1:end]), "a test config")
        start = end + 1
    body = [x for x in lines[start:] if not x.rstrip().endswith("# IGNORE")]
    points = config.get("points")
    return "\n".join(body).strip("\n"), bool(config.get("hidden", hidden)), points


class _Reader:
    """Walks the master's cells once: template, reference cells and questions."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.template: list[Any] = []
        self.reference: list[str] = []
        self.questions: list[Question] = []
        self.q: Question | None = None
        self.qcfg: dict[str, Any] = {}
        self.raw_tests: list[tuple[str, bool, float | None]] = []
        self.mode = ""  # "" | "solution" | "tests"
        self.notes: list[str] = []
        self.title = ""
        self.names: set[str] = set()

    def raw(self, cell: Any) -> None:
        head, rest = _raw_head(cell)
        if head.startswith("ASSIGNMENT CONFIG"):
            cfg = _yaml(rest, "ASSIGNMENT CONFIG")
            if cfg.get("requirements"):
                self.notes.append(f"requirements ({cfg['requirements']}) are not installed by "
                                  "the import: install them beside the harness")  # fmt: skip
        elif head.startswith("BEGIN QUESTION"):
            self._begin_question(_yaml(rest, "BEGIN QUESTION"))
        elif head.startswith(("BEGIN SOLUTION", "BEGIN TESTS")):
            self.mode = "solution" if "SOLUTION" in head else "tests"
        elif head.startswith(("END SOLUTION", "END TESTS")):
            self.mode = ""
            if head.startswith("END TESTS") and self.q is not None and not self.q.manual:
                self.template.append(check_cell([self.q.name]))
        elif head.startswith("END QUESTION"):
            self._end_question()
        else:
            self.template.append(cell)  # a raw cell of the course's own

    def _begin_question(self, cfg: dict[str, Any]) -> None:
        name = str(cfg.get("name", "")).strip()
        if not name:
            raise UsageError(f"BEGIN QUESTION without a name: {cfg}")
        stub = identifier(name, self.names)
        self.q = Question(name=stub, title="", manual=bool(cfg.get("manual", False)))
        if stub != name:
            self.q.notes.append(f"named `{stub}` here (`{name}` is not a usable stub name)")
        self.qcfg, self.raw_tests = cfg, []
        for key in sorted(set(cfg) - {"name", "manual", "points", "all_or_nothing"}):
            self.q.notes.append(f"`{key}: {cfg[key]}` has no meaning here (ignored)")

    def _end_question(self) -> None:
        q = self.q
        if q is None:
            raise UsageError("END QUESTION without BEGIN QUESTION")
        total = self.qcfg.get("points")
        where = f"question {q.name}"
        if isinstance(total, dict):  # points: {each: 2}
            total = points(total.get("each", 1), where) * len(self.raw_tests)
        q.all_or_nothing = bool(self.qcfg.get("all_or_nothing", False))
        if q.manual:
            q.points = 1.0 if total is None else points(total, where)
            if self.raw_tests:
                q.notes.append(f"{len(self.raw_tests)} tests of a manual question (not run)")
        else:
            pts = resolve_points(total, [p for _, _, p in self.raw_tests], where)
            q.cases = [Case(s, h, p) for (s, h, _), p in zip(self.raw_tests, pts, strict=True)]
            if not q.cases:
                q.notes.append("no tests: nothing to grade automatically")
        self.questions.append(q)
        self.q = None

    def code(self, cell: Any) -> None:
        if self.mode == "tests":
            if self.q is None:
                raise UsageError("BEGIN TESTS outside a question")
            self.raw_tests.append(_test_case(cell))
            return
        if self.mode == "solution":
            self.reference.append(reference_lines(cell.source))
            student = nbformat.v4.new_code_cell(strip_incumbent(student_lines(cell.source)))
            student.metadata = dict(cell.get("metadata", {}))
            self.template.append(student)
            return
        self.reference.append(cell.source)
        kept = strip_incumbent(cell.source)
        if kept.strip():
            self.template.append(nbformat.v4.new_code_cell(kept, metadata=dict(cell.metadata)))

    def markdown(self, cell: Any) -> None:
        if self.q is not None and not self.q.title:
            first = next((x for x in cell.source.splitlines() if x.strip()), "")
            self.q.title = re.sub(r"\*\*|__|<!--.*?-->", "", first).strip("# ")
        if not self.title and cell.source.lstrip().startswith("#"):
            self.title = cell.source.lstrip("# ").splitlines()[0].strip()
        if self.mode == "solution":
            self.template.append(nbformat.v4.new_markdown_cell(MD_ANSWER))
        else:
            self.template.append(nbformat.v4.new_markdown_cell(cell.source))


def convert(master: Path, name: str) -> Converted:
    nb = read_notebook(master)
    r = _Reader(name)
    for cell in nb.cells:
        if cell.cell_type == "raw":
            r.raw(cell)
        elif cell.cell_type == "code":
            r.code(cell)
        else:
            r.markdown(cell)
    if r.q is not None:
        raise UsageError(f"question {r.q.name} has no END QUESTION")
    template = nbformat.v4.new_notebook(cells=framed(r.template, name), metadata=dict(nb.metadata))
    template.metadata.pop("otter", None)
    return Converted(
        kind="otter", name=name, title=r.title or name, source=master, template=template,
        reference=module_source(r.reference), questions=r.questions, notes=r.notes,
    )  # fmt: skip
