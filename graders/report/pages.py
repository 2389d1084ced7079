"""Renderers: report.json, Gradescope results.json, feedback.html, gradebook.csv, summary.

Each takes the result model and nothing else. Files are written atomically (a temp file, then
``os.replace``) so a killed run never leaves half a report.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import statistics
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from ..intake import rules as intake
from ..verdict.model import Event, EventKind, Report
from .plots import histogram, line_plot, parabola_plot

_env = jinja2.Environment(
    loader=jinja2.PackageLoader(__package__ or "graders", "templates"),  # a copy may be elsewhere
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def code_spans(text: Any) -> markupsafe.Markup:
    """Text whose `backticked` words (how messages name code) show as code: escaped first,
    so a student's own text stays text."""
    escaped = str(markupsafe.escape(text))
    return markupsafe.Markup(re.sub(r"`([^`\n]+)`", r"<code>\1</code>", escaped))


def anchor(name: str) -> str:
    """A check's id on its feedback page, for the links that lead to it."""
    return name.replace(" ", "-").replace(":", "")


_env.filters["code"] = code_spans
_env.filters["anchor"] = anchor


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_gradescope(report: Report) -> dict[str, Any]:
    """Exactly the fields of Gradescope's results.json spec, nothing else."""
    d = report.to_dict()
    return {
        "score": d["score"],
        "execution_time": d["execution_time"],
        "output": d["output"],
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": t["name"],
                "score": t["score"],
                "max_score": t["max_score"],
                "status": t["status"],
                "output": t["output"],
                "visibility": t["visibility"],
            }
            for t in d["tests"]
        ],
    }


def render_feedback(
    report: Report, diagnosis: str = "Likely mistake", in_notebook: bool = False
) -> str:
    """feedback.html. ``diagnosis``: the words before a named mistake (the in-notebook check,
    which sees the public checks only, says "Possible mistake"); ``in_notebook``: the page
    under a ``check()`` cell, without what only a grade report needs (whose feedback, the
    status, the harness's footer)."""
    groups: dict[str, list[Any]] = {}
    plots: dict[str, Any] = {}
    for t in report.tests:
        groups.setdefault(t.stub, []).append(t)
        if t.plot:  # only checks whose feedback is "full" carry plot data
            draw = parabola_plot if t.plot.kind == "parabola" else line_plot
            plots[t.name] = draw(t.name, t.plot.expected, t.plot.got)
    failing_cells = [c for c in report.cells if c.failed]
    # what lost points first: the page opens with links to them, and their stubs lead
    to_fix = [t for t in report.tests if t.score < t.max_score]
    lost = {t.stub for t in to_fix}
    groups = dict(sorted(groups.items(), key=lambda kv: kv[0] not in lost))
    return _env.get_template("feedback.html.j2").render(
        r=report, groups=groups, failing_cells=failing_cells, plots=plots, to_fix=to_fix,
        diagnosis=diagnosis, in_notebook=in_notebook,
    )  # fmt: skip


# The kernel died or hung during the run: the summary lists these submissions.
INTERRUPTED = {EventKind.KERNEL_RESTARTED.value, EventKind.KERNEL_NOT_RESTARTED.value}


def summary_model(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """What summary.html shows, computed from report.json dicts alone."""
    graded = [r for r in reports if r["status"] == "graded"]
    scores = sorted(r["score"] for r in graded)
    max_score = max((r["max_score"] for r in reports), default=0)
    checks: dict[str, list[int]] = {}
    failures: Counter[tuple[str, str]] = Counter()
    known: dict[str, dict[str, Any]] = {}  # mistake id -> how many students made it
    for r in graded:
        for t in r["tests"]:
            tally = checks.setdefault(t["name"], [0, 0])
            tally[0] += t["outcome"] == "passed"
            tally[1] += 1
            if t["outcome"] != "passed":
                failures[(t["name"], t["output"])] += 1
        for m in r.get("misconceptions", []):
            entry = known.setdefault(m["id"], {**m, "students": []})
            entry["students"].append(r["submission"]["id"])
    return {
        "assignment": reports[0]["assignment"]["title"] if reports else "",
        "n": len(reports),
        "graded": len(graded),
        "max_score": max_score,
        "mean": statistics.fmean(scores) if scores else 0.0,
        "median": statistics.median(scores) if scores else 0.0,
        "histogram": histogram(scores, max_score),
        "checks": [
            {"name": n, "passed": p, "total": t, "pct": round(100 * p / t) if t else 0}
            for n, (p, t) in checks.items()
        ],
        "failures": [
            {"check": c, "message": m, "count": k} for (c, m), k in failures.most_common(10)
        ],
        "misconceptions": sorted(known.values(), key=lambda m: -len(m["students"])),
        "ungradable": [r for r in reports if r["status"] == "ungradable"],
        "errors": [r for r in reports if r["status"] == "error"],
        "timeouts": [r for r in graded if INTERRUPTED & set(r.get("event_kinds", []))],
        "slowest": sorted(reports, key=lambda r: -r["execution_time"])[:5],
        "reports": sorted(reports, key=lambda r: r["submission"]["id"]),
    }


RENDER_FAILED = "The feedback page could not be rendered"


def write_submission(out: Path, report: Report) -> Path:
    d = out / report.submission.id
    try:
        page = render_feedback(report)
    except Exception as exc:  # a renderer bug must not lose the grade itself
        message = f"feedback.html failed to render: {type(exc).__name__}: {exc}"
        report.events.append(Event(EventKind.RENDER_FAILED, message))
        page = (
            f"<!doctype html><html lang=en><title>feedback</title><p>{RENDER_FAILED}; "
            f"score {report.score:g}/{report.max_score:g}. See report.json.</p></html>"
        )
    atomic_write(d / "feedback.html", page)
    atomic_write(d / "results.json", json.dumps(to_gradescope(report), indent=2))
    # report.json last: its presence marks the submission as done for a resumed run.
    atomic_write(d / "report.json", json.dumps(report.to_dict(), indent=2))
    return d


def load_reports(out: Path) -> list[dict[str, Any]]:
    reports = []
    for path in sorted(out.glob("*/report.json")):
        try:
            reports.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return reports


def gradebook_csv(reports: list[dict[str, Any]], ungradable_score: str = "blank") -> str:
    """One row per student; Canvas/Moodle import the id and the points column. A submission
    that could not be graded gets no points (an import leaves the grade alone), or 0 with
    ``ungradable_score="zero"``; one the harness failed on (status error) never gets 0."""
    check_names: list[str] = []
    for r in reports:
        for t in r["tests"]:
            if t["name"] not in check_names:
                check_names.append(t["name"])
    buf = io.StringIO()
    w = csv.writer(buf)
    assignment = reports[0]["assignment"]["name"] if reports else "assignment"
    manual = [m for m in (reports[0].get("manual") or [] if reports else [])]
    w.writerow(["Student", "ID", f"{assignment} ({reports[0]['max_score'] if reports else 0:g})",
                "status", *check_names,
                *(f"{m['name']} (by hand, {m['points']:g})" for m in manual)])  # fmt: skip
    for r in reports:
        scores = {t["name"]: t["score"] for t in r["tests"]}
        sub = r["submission"]
        points = f"{r['score']:g}"
        if r["status"] == "error" or (r["status"] == "ungradable" and ungradable_score != "zero"):
            points = ""
        who = [intake.csv_cell(sub.get("student") or sub["id"]),
               intake.csv_cell(sub.get("student_id") or sub["id"])]  # fmt: skip
        w.writerow([*who,
                    points, r["status"],
                    *(f"{scores[n]:g}" if n in scores else "" for n in check_names),
                    *("" for _ in manual)])  # fmt: skip
    return buf.getvalue()


def write_run(out: Path, ungradable_score: str = "blank") -> list[dict[str, Any]]:
    """Rebuild the per-run files from every report.json in ``out`` (any run, even a killed one)."""
    reports = load_reports(out)
    atomic_write(out / "gradebook.csv", gradebook_csv(reports, ungradable_score))
    page = _env.get_template("summary.html.j2").render(
        s=summary_model(reports), similarity=(out / "similarity.html").is_file()
    )
    atomic_write(out / "summary.html", page)
    return reports
