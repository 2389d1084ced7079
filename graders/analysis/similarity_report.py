"""similarity.json and similarity.html: the pairs that stand out, side by side.

Evidence for a person, never a verdict: nothing here changes a score, and both files say so.
Reads submissions as grading does (graders.intake.discover), compares them
(graders.analysis.similarity) and writes the two files; `grader similarity` and `grader grade
--similarity` call :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ..errors import ExitCode, UsageError
from ..intake.discover import Discovery, discover
from ..report.pages import _env, atomic_write
from ..spec.assignment import Assignment
from . import similarity as sim
from .similarity import THRESHOLD, TOP

MOSTLY = 0.8  # an exercise's likeness at which most of it is shared
SIDE_BY_SIDE = 12  # pairs shown side by side, overall (and 3 more per stub)
NOT_A_VERDICT = (
    "Evidence for a person to read, never a verdict: no score was changed. Independent "
    "solutions of short exercises look alike; a pair is ranked by how far it stands out from "
    "this class's usual likeness, not by its raw score."
)


@dataclass(frozen=True)
class Options:
    threshold: float = THRESHOLD
    top: int = TOP


def _detector() -> dict[str, Any]:
    try:
        v = version("copydetect")
    except PackageNotFoundError:  # pragma: no cover - a dependency
        v = "?"
    return {"name": "copydetect", "version": v, "k": sim.K, "window": sim.WINDOW}


def codes_of(assignment: Assignment, found: Discovery) -> tuple[list[sim.Code], sim.Code]:
    """Each gradable submission's code, and the template's (the boilerplate)."""
    stubs = assignment.stubs
    template = sim.extract("template", assignment.template.read_bytes(), "notebook", stubs)
    codes = [
        sim.extract(s.id, s.data, s.kind, stubs, template)
        for s in found.submissions
        if s.gradable and s.kind in ("notebook", "module")
    ]
    return codes, template


def flagged(p: sim.Pair, threshold: float) -> bool:
    """Worth a look: the whole stands out, or one exercise does with most of it shared (a
    short exercise where little is shared stands out by chance in a small class)."""
    return p.standout >= threshold or any(
        z >= threshold and p.stubs[s] >= MOSTLY for s, z in p.stub_standout.items()
    )


def _pair_json(p: sim.Pair, threshold: float) -> dict[str, Any]:
    return {
        "a": p.a,
        "b": p.b,
        "score": round(p.score, 4),
        "standout": round(p.standout, 2),
        "flagged": flagged(p, threshold),
        # the exercise where the pair stands out most; None when they share none
        "most_unusual": max(p.stubs, key=lambda s: p.stub_standout[s], default=None),
        "stubs": {
            s: {"score": round(v, 4), "standout": round(p.stub_standout[s], 2)}
            for s, v in p.stubs.items()
        },
    }


def summary(comparison: sim.Comparison, assignment: str, opts: Options) -> dict[str, Any]:
    """similarity.json's content."""
    by_stub = {
        stub: [
            {"a": p.a, "b": p.b, "score": round(p.stubs[stub], 4)}
            | {"standout": round(p.stub_standout[stub], 2)}
            for p in sim.pairs_on(comparison, stub)[: opts.top]
            if p.stubs[stub] > 0  # sharing nothing is not worth a line
        ]
        for stub in comparison.spreads
        if stub != sim.OVERALL
    }
    return {
        "assignment": assignment,
        "note": NOT_A_VERDICT,
        "detector": _detector(),
        "threshold": opts.threshold,
        "submissions": len(comparison.notes),
        "pairs_total": len(comparison.pairs),
        "usual": {
            name: {"median": round(s.median, 4), "spread": round(s.spread, 4), "pairs": s.pairs}
            for name, s in comparison.spreads.items()
        },
        "pairs": [_pair_json(p, opts.threshold) for p in comparison.pairs[: opts.top]],
        "by_stub": by_stub,
        "notes": {sid: list(n) for sid, n in comparison.notes.items() if n},
    }


def _highlighted(comparison: sim.Comparison, a: str, b: str, stub: str) -> tuple[Markup, Markup]:
    """Both sides' code with the regions they share marked (copydetect's slices)."""
    from copydetect import compare_files
    from copydetect.utils import highlight_overlap

    fa, fb = comparison.fingerprints[a, stub], comparison.fingerprints[b, stub]
    _, _, (sa, sb) = compare_files(fa.fp, fb.fp)
    out = []
    for fp, slices in ((fa, sa), (fb, sb)):
        if len(slices) and slices.shape[-1]:
            text, _ = highlight_overlap(fp.text, slices, "<mark>", "</mark>", escape_html=True)
        else:
            text = str(Markup.escape(fp.text))
        out.append(Markup(text))  # escaped by highlight_overlap (escape_html) or above
    return out[0], out[1]


def _views(comparison: sim.Comparison, p: sim.Pair) -> list[dict[str, Any]]:
    """A pair's code side by side: its most unusual stubs first, then the whole."""
    views = []
    for stub in sorted(p.stubs, key=lambda s: -p.stub_standout[s]):
        left, right = _highlighted(comparison, p.a, p.b, stub)
        views.append(
            {"stub": stub, "score": p.stubs[stub], "standout": p.stub_standout[stub]}
            | {"left": left, "right": right}
        )
    return views


def render(comparison: sim.Comparison, data: dict[str, Any], shown: list[sim.Pair]) -> str:
    details = [
        {"pair": _pair_json(p, data["threshold"]), "views": _views(comparison, p)} for p in shown
    ]
    ids = {f"{p.a}--{p.b}" for p in shown}
    return _env.get_template("similarity.html.j2").render(s=data, details=details, ids=ids)


def _shown(comparison: sim.Comparison) -> list[sim.Pair]:
    """The pairs shown side by side: the top overall, and the top few of each stub."""
    shown = list(comparison.pairs[:SIDE_BY_SIDE])
    for stub in comparison.spreads:
        if stub != sim.OVERALL:
            shown += [p for p in sim.pairs_on(comparison, stub)[:3] if p not in shown]
    return shown


def run(assignment: Assignment, found: Discovery, out: Path, opts: Options) -> dict[str, Any]:
    """Compare the class and write similarity.json and similarity.html into ``out``."""
    codes, template = codes_of(assignment, found)
    comparison = sim.compare(codes, template, assignment.stubs)
    data = summary(comparison, assignment.name, opts)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "similarity.json", json.dumps(data, indent=1))
    atomic_write(out / "similarity.html", render(comparison, data, _shown(comparison)))
    return data


def command(args: argparse.Namespace) -> int:
    """``grader similarity``: reads the submissions, grades nothing, changes no score."""
    from ..spec.assignment import find_assignment

    if args.top < 1:
        raise UsageError("--top must be at least 1")
    require_detector()
    assignment = find_assignment(args.assignment, submissions=tuple(args.inputs))
    found = discover(args.inputs)
    try:
        for path, reason in found.skipped:
            print(f"skipped {path}: {reason}", file=sys.stderr)
        data = run(assignment, found, args.out, Options(args.threshold, args.top))
    finally:
        found.cleanup()
    n, pairs = data["submissions"], data["pairs_total"]
    print(f"{n} submissions, {pairs} pairs, {_flagged(data)} flagged")
    print(f"similarity in {args.out}/ (similarity.html, similarity.json)")
    return ExitCode.OK


def require_detector() -> None:
    try:
        import copydetect  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            "the similarity report needs copydetect: pip install 'graders[similarity]'"
        ) from exc


def after_grading(assignment: Assignment, found: Discovery, out: Path) -> str:
    """``grader grade --similarity``: the same files beside the reports."""
    data = run(assignment, found, out, Options())
    return f"similarity: {data['pairs_total']} pairs, {_flagged(data)} flagged (similarity.html)"


def _flagged(data: dict[str, Any]) -> int:
    return sum(bool(p["flagged"]) for p in data["pairs"])
