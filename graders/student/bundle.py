"""The student bundle: what a student needs to self-check, and nothing secret.

``grader build NAME`` writes ``dist/NAME/``: the template, the *public* checks (their probe
source and settings, as data), and the reference's results for the public checks only. No
reference code, no hidden checks, no secret seed. ``grader check`` finds it like an
assignment folder (``--assignment dist/NAME``, or ``GRADER_HOME``) and uses the stored
expected results instead of running a reference.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import nbformat

from .. import __version__
from ..errors import AssignmentError
from ..intake import notebook
from ..spec.assignment import Assignment
from ..verdict.checks import Check, CheckSuite
from ..verdict.codec import encode
from ..verdict.diagnose import Mistake, Results
from ..verdict.results import ProbeKind, ProbeResult
from .bundle_data import (
    CHECKS_FILE,
    EXPECTED_FILE,
    META_FILE,
    MISTAKES_FILE,
    SIGNATURES_FILE,
    checks_from,
    compare_spec,
    expected_from,
    mistakes_from,
)
from .cells import add_check_cells
from .wheel import write_wheel


def write_bundle(
    assignment: Assignment, suite: CheckSuite, reference: dict[str, ProbeResult],
    seeds: dict[str, int], dest: Path, mistakes: tuple[Mistake, ...] = (),
    mistake_results: Results | None = None,
) -> Path:  # fmt: skip
    public = [c for c in suite.checks if not c.hidden]
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    _write_template(assignment, dest)
    for name, data in assignment.data_files.items():  # data/: beside the template, as in grading
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_bytes(data)
    _write_meta(assignment, dest)
    checks = [_public_check(c, seeds[c.name], {x.name for x in public}) for c in public]
    (dest / CHECKS_FILE).write_text(json.dumps(checks, indent=1))
    expected = {}
    for c in public:
        r = reference[c.name]
        if r.kind != ProbeKind.VALUE:
            raise AssignmentError(f"the reference fails {c.name!r}; run grader verify")
        expected[c.name] = {"value": encode(r.value), "type": r.vtype}
    (dest / EXPECTED_FILE).write_text(json.dumps(expected))
    _write_mistakes(dest, {c.name for c in public}, mistakes, mistake_results or {})
    sigs = notebook.signatures(assignment.template.read_bytes(), assignment.stubs)
    (dest / SIGNATURES_FILE).write_text(json.dumps(sigs))
    write_wheel(assignment, dest)
    return dest


def _write_template(assignment: Assignment, dest: Path) -> None:
    """The template students get: with the self-check's cells (unless its author placed
    them), byte for byte the instructor's otherwise."""
    read = notebook.read(assignment.template.read_bytes())
    if read.nb is None or not add_check_cells(read.nb, assignment.stubs, assignment.name):
        shutil.copy(assignment.template, dest / "template.ipynb")
        return
    (dest / "template.ipynb").write_text(nbformat.writes(read.nb) + "\n", encoding="utf-8")


def _write_meta(assignment: Assignment, dest: Path) -> None:
    """assignment.toml (``grader check`` reads the bundle as an assignment folder) and
    assignment.json (the in-notebook check's settings)."""
    limits = "\n".join(f"{k} = {v!r}" for k, v in asdict(assignment.limits).items())
    stubs = ", ".join(json.dumps(s) for s in assignment.stubs)
    (dest / "assignment.toml").write_text(
        f"# The student bundle of {assignment.name} {assignment.version}, built by graders "
        f"{__version__}.\n# Public checks only; no reference, no hidden checks, no secret seed.\n"
        f"name = {json.dumps(assignment.name)}\ntitle = {json.dumps(assignment.title)}\n"
        f"version = {json.dumps(assignment.version)}\nstubs = [{stubs}]\n\n[grading]\n"
        + (f"data = {json.dumps(assignment.data)}\n" if assignment.data else "")
        + ("allow_cuda = true\n" if assignment.allow_cuda else "")
        + f"\n[limits]\n{limits}\n"
        + "".join(
            f"\n[[manual]]\nname = {json.dumps(m.name)}\ntitle = {json.dumps(m.title)}\n"
            f"points = {m.points!r}\n"
            for m in assignment.manual
        )
    )
    meta = {
        "name": assignment.name, "title": assignment.title, "version": assignment.version,
        "stubs": list(assignment.stubs), "allow_cuda": assignment.allow_cuda,
        "check_timeout": assignment.limits.check_timeout,
        "manual": [{"name": m.name, "title": m.title, "points": m.points}
                   for m in assignment.manual],
    }  # fmt: skip
    (dest / META_FILE).write_text(json.dumps(meta, indent=1))


def _public_check(c: Check, seed: int, public: set[str]) -> dict[str, Any]:
    return {
        "name": c.name, "stub": c.stub, "description": c.description, "func_name": c.func_name,
        "source": c.source, "points": c.points, "label": c.label, "cases": c.cases,
        "timeout": c.timeout, "plot": c.plot, "plot_key": c.plot_key, "seed": seed,
        "feedback": c.feedback, "plot_caption": c.plot_caption, "hint": c.hint,
        "types": c.types.value,
        # A hidden prerequisite is not in the bundle: the check runs without it.
        "depends": [d for d in c.depends if d in public],
        "compare": compare_spec(c.compare, c.name),
    }  # fmt: skip


def _write_mistakes(
    dest: Path, public: set[str], mistakes: tuple[Mistake, ...], results: Results
) -> None:
    """What the student's own check needs to name a mistake on a public check: the words and
    the mistake's result there; never its code, never a hidden check's result."""
    out = []
    for m in mistakes:
        mine = {
            name: encode(r.value)
            for name, r in results.get(m.id, {}).items()
            if name in public and r.kind == ProbeKind.VALUE and not r.failed_cases
        }
        if mine:
            out.append({**m.shown(), "stub": m.stub, "results": mine})
    (dest / MISTAKES_FILE).write_text(json.dumps(out))


def load_bundle_mistakes(root: Path) -> tuple[tuple[Mistake, ...], Results]:
    path = root / MISTAKES_FILE
    if not path.is_file():  # a bundle built before known mistakes
        return (), {}
    return mistakes_from(json.loads(path.read_text()))


def is_bundle(root: Path) -> bool:
    return (root / CHECKS_FILE).is_file() and (root / EXPECTED_FILE).is_file()


def load_bundle_checks(root: Path) -> tuple[CheckSuite, dict[str, int]]:
    return checks_from(json.loads((root / CHECKS_FILE).read_text()), root / CHECKS_FILE)


def load_expected(root: Path) -> dict[str, ProbeResult]:
    return expected_from(json.loads((root / EXPECTED_FILE).read_text()))


def handout(dest: Path) -> list[str]:
    """What students need from a bundle: the template, the self-check wheel, the data files
    the notebook reads (the JSON files are the wheel's, and `grader check`'s)."""
    out = [dest / "template.ipynb", *sorted(dest.glob("*.whl"))]
    out += sorted(p for p in dest.rglob("*") if p.is_file() and p.parent != dest)
    out += sorted(p for p in dest.iterdir() if p.is_file() and p.suffix not in
                  (".json", ".toml", ".ipynb", ".whl"))  # fmt: skip
    return [str(p) for p in out]
