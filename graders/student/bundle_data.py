"""The student bundle's files read back as data: public checks, their expected results, the
known mistakes' results, the template's signatures (:mod:`graders.student.bundle` writes them).

Light on purpose: ``grader check`` reads them from ``dist/NAME/``, and the in-notebook check
(:mod:`graders.student.selfcheck`) from the package ``grader build`` makes, in the student's kernel.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..errors import AssignmentError
from ..verdict.checks import Check, CheckSuite, Visibility
from ..verdict.codec import decode
from ..verdict.compare import AllClose, Comparator, Exact, Within
from ..verdict.diagnose import Mistake, Results
from ..verdict.results import ProbeKind, ProbeResult
from ..verdict.typenote import TypePolicy

CHECKS_FILE = "checks.json"
EXPECTED_FILE = "expected.json"
MISTAKES_FILE = "mistakes.json"  # known mistakes' results on the public checks (no code)
SIGNATURES_FILE = "signatures.json"  # the template's stub signatures, for call errors
META_FILE = "assignment.json"  # name, title, version, stubs, check_timeout, allow_cuda, manual
_COMPARATORS: dict[str, type[Any]] = {"allclose": AllClose, "exact": Exact, "within": Within}


def compare_spec(c: Comparator, where: str) -> dict[str, Any]:
    for name, cls in _COMPARATORS.items():
        if type(c) is cls:
            return {"type": name, **asdict(c)}  # type: ignore[call-overload]
    raise AssignmentError(f"{where}: a custom comparator cannot go into a student bundle")


def compare_from(spec: dict[str, Any]) -> Comparator:
    spec = dict(spec)
    cls = _COMPARATORS[spec.pop("type")]
    return cls(**spec)  # type: ignore[no-any-return]


def checks_from(raw: list[dict[str, Any]], where: Path) -> tuple[CheckSuite, dict[str, int]]:
    """The public checks of checks.json, in file order, and each one's seed."""
    checks = []
    seeds = {}
    for order, c in enumerate(raw):
        checks.append(
            Check(
                name=c["name"], stub=c["stub"], description=c["description"],
                func_name=c["func_name"], source=c["source"], points=float(c["points"]),
                visibility=Visibility.PUBLIC, compare=compare_from(c["compare"]),
                label=c["label"], cases=c["cases"], timeout=c["timeout"], order=order,
                plot=c["plot"], plot_key=c["plot_key"], feedback=c.get("feedback", "full"),
                depends=tuple(c.get("depends", ())), plot_caption=c.get("plot_caption"),
                hint=c.get("hint", ""), types=TypePolicy(c.get("types", "note")),
            )
        )  # fmt: skip
        seeds[c["name"]] = int(c["seed"])
    return CheckSuite(tuple(checks), where), seeds


def expected_from(raw: dict[str, Any]) -> dict[str, ProbeResult]:
    """expected.json: each public check's encoded value and its type (typenote.py); a bundle
    built before type notes has the encoded value alone."""
    out = {}
    for name, entry in raw.items():
        text, vtype = (
            (entry["value"], entry.get("type")) if isinstance(entry, dict) else (entry, None)
        )
        out[name] = ProbeResult(ProbeKind.VALUE, value=decode(text), vtype=vtype)
    return out


def mistakes_from(raw: list[dict[str, Any]]) -> tuple[tuple[Mistake, ...], Results]:
    mistakes = tuple(
        Mistake(m["id"], m["stub"], m["title"], m["explain"], m["hint"], "", tuple(m["results"]))
        for m in raw
    )
    results = {
        m["id"]: {n: ProbeResult(ProbeKind.VALUE, value=decode(v)) for n, v in m["results"].items()}
        for m in raw
    }
    return mistakes, results
