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

from . import __version__
from .assignment import Assignment
from .checks import Check, CheckSuite, Visibility
from .codec import decode, encode
from .compare import AllClose, Comparator, Exact, Within
from .errors import AssignmentError
from .kernel_results import ProbeKind, ProbeResult
from .mistakes import Mistake, Results

CHECKS_FILE = "checks.json"
EXPECTED_FILE = "expected.json"
MISTAKES_FILE = "mistakes.json"  # known mistakes' results on the public checks (no code)
_COMPARATORS: dict[str, type[Any]] = {"allclose": AllClose, "exact": Exact, "within": Within}


def _compare_spec(c: Comparator, where: str) -> dict[str, Any]:
    for name, cls in _COMPARATORS.items():
        if type(c) is cls:
            return {"type": name, **asdict(c)}  # type: ignore[call-overload]
    raise AssignmentError(f"{where}: a custom comparator cannot go into a student bundle")


def _compare_from(spec: dict[str, Any]) -> Comparator:
    spec = dict(spec)
    cls = _COMPARATORS[spec.pop("type")]
    return cls(**spec)  # type: ignore[no-any-return]


def write_bundle(
    assignment: Assignment, suite: CheckSuite, reference: dict[str, ProbeResult],
    seeds: dict[str, int], dest: Path, mistakes: tuple[Mistake, ...] = (),
    mistake_results: Results | None = None,
) -> Path:  # fmt: skip
    public = [c for c in suite.checks if not c.hidden]
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copy(assignment.template, dest / "template.ipynb")
    for name, data in assignment.data_files.items():  # data/: beside the template, as in grading
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_bytes(data)
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
    )
    checks = [
        {
            "name": c.name, "stub": c.stub, "description": c.description, "func_name": c.func_name,
            "source": c.source, "points": c.points, "label": c.label, "cases": c.cases,
            "timeout": c.timeout, "plot": c.plot, "plot_key": c.plot_key, "seed": seeds[c.name],
            "feedback": c.feedback, "plot_caption": c.plot_caption, "hint": c.hint,
            # A hidden prerequisite is not in the bundle: the check runs without it.
            "depends": [d for d in c.depends if d in {x.name for x in public}],
            "compare": _compare_spec(c.compare, c.name),
        }
        for c in public
    ]  # fmt: skip
    (dest / CHECKS_FILE).write_text(json.dumps(checks, indent=1))
    expected = {}
    for c in public:
        r = reference[c.name]
        if r.kind != ProbeKind.VALUE:
            raise AssignmentError(f"the reference fails {c.name!r}; run grader verify")
        expected[c.name] = encode(r.value)
    (dest / EXPECTED_FILE).write_text(json.dumps(expected))
    _write_mistakes(dest, {c.name for c in public}, mistakes, mistake_results or {})
    return dest


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
    raw = json.loads(path.read_text())
    mistakes = tuple(
        Mistake(m["id"], m["stub"], m["title"], m["explain"], m["hint"], "", tuple(m["results"]))
        for m in raw
    )
    results = {
        m["id"]: {n: ProbeResult(ProbeKind.VALUE, value=decode(v)) for n, v in m["results"].items()}
        for m in raw
    }
    return mistakes, results


def is_bundle(root: Path) -> bool:
    return (root / CHECKS_FILE).is_file() and (root / EXPECTED_FILE).is_file()


def load_bundle_checks(root: Path) -> tuple[CheckSuite, dict[str, int]]:
    raw = json.loads((root / CHECKS_FILE).read_text())
    checks = []
    seeds = {}
    for order, c in enumerate(raw):
        checks.append(
            Check(
                name=c["name"], stub=c["stub"], description=c["description"],
                func_name=c["func_name"], source=c["source"], points=float(c["points"]),
                visibility=Visibility.PUBLIC, compare=_compare_from(c["compare"]),
                label=c["label"], cases=c["cases"], timeout=c["timeout"], order=order,
                plot=c["plot"], plot_key=c["plot_key"], feedback=c.get("feedback", "full"),
                depends=tuple(c.get("depends", ())), plot_caption=c.get("plot_caption"),
                hint=c.get("hint", ""),
            )
        )  # fmt: skip
        seeds[c["name"]] = int(c["seed"])
    return CheckSuite(tuple(checks), root / CHECKS_FILE), seeds


def load_expected(root: Path) -> dict[str, ProbeResult]:
    raw = json.loads((root / EXPECTED_FILE).read_text())
    return {name: ProbeResult(ProbeKind.VALUE, value=decode(text)) for name, text in raw.items()}
