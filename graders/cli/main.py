"""The ``grader`` command (also ``python -m graders``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import nbformat

from ..analysis.nulls import weak_checks
from ..errors import ExitCode, GraderError, UsageError
from ..grading.cluster import grade_on_cluster
from ..grading.devices import gpu_memory, packing_note
from ..grading.mistakes import verify_mistakes
from ..grading.pipeline import grade_submission
from ..grading.prepare import Prepared, Settings, prepare, trusted_kernels
from ..grading.reference import run_reference
from ..grading.schedule import grade_many
from ..intake.discover import Discovery, Submission, discover, load_file, load_with_siblings
from ..kernel.zygote import close_all
from ..report import terminal
from ..report.pages import write_run, write_submission
from ..sandbox.bwrap import protect, python_path
from ..spec.assignment import Assignment, assignment_for, find_assignment
from ..spec.environment import unimportable
from ..student.bundle import handout, write_bundle
from ..verdict.missing import template_problems
from ..verdict.model import Outcome, Report, Status
from ..verdict.results import ProbeKind
from ..verdict.score import missing_file
from .args import build_parser


def _settings(args: argparse.Namespace, **kw: Any) -> Settings:
    return Settings.for_run(
        args.cache_dir,
        sandbox=args.sandbox,
        kernels=args.kernels,
        device=args.device,
        data_dir=args.data_dir,
        **kw,
    )


def _done_key(out: Path, sub: Submission) -> str | None:
    """The inputs key of an earlier report, if it counts as done: a report of a harness
    failure (status error) never does, so a rerun after the fix grades it."""
    try:
        data = json.loads((out / sub.id / "report.json").read_text())
        if data["status"] == Status.ERROR.value:
            return None
        return str(data["submission"]["inputs_key"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


async def _grade(args: argparse.Namespace) -> int:
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.similarity:  # before grading, not after an hour of it
        from ..analysis.similarity_report import require_detector

        require_detector()
    assignment = find_assignment(args.assignment, submissions=tuple(args.inputs))
    found = discover(args.inputs)
    try:
        return await _grade_found(args, assignment, found)
    finally:
        found.cleanup()


def _print_run_notes(p: Prepared, jobs: int) -> None:
    """What the instructor should know before the run: GPU packing, kernels, PYTHONPATH."""
    limits = p.assignment.limits
    note = packing_note(jobs, p.gpus, limits.gpu_memory_mb, gpu_memory(p.gpus))
    if note:
        print(note, file=sys.stderr)
    if p.kernels_note:
        print(f"note: {p.kernels_note}", file=sys.stderr)
    for entry in python_path()[1]:
        print(f"note: PYTHONPATH entry {entry} is not shown to the kernels: it holds (or lies "
              "inside) the assignments, the reference, the submissions or the reports",
              file=sys.stderr)  # fmt: skip


def _exit_code(reports: list[Report]) -> ExitCode:
    if any(r.status is Status.ERROR for r in reports):
        return ExitCode.INTERNAL
    if any(r.status is Status.UNGRADABLE for r in reports):
        return ExitCode.UNGRADABLE
    return ExitCode.OK


async def _grade_found(args: argparse.Namespace, assignment: Assignment, found: Discovery) -> int:
    for path, reason in found.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if not found.submissions:
        raise UsageError("no submissions found in the inputs")
    protect(args.out, *args.inputs)  # other students' work and the reports: never on a path
    p = await prepare(
        assignment, _settings(args, jobs=args.jobs, force=args.force, prestart=args.prestart)
    )
    _print_run_notes(p, args.jobs)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    total = len(found.submissions)
    done = 0
    bar = None

    # Read each earlier report once: the count below and the skip during the run agree.
    graded_before = (
        set()
        if args.force
        else {s.id for s in found.submissions if _done_key(out, s) == p.inputs_key(s)}
    )

    def skip(sub: Submission) -> bool:
        return sub.id in graded_before

    def on_done(report: Report) -> None:
        nonlocal done
        done += 1
        write_submission(out, report)
        line = (
            f"{report.submission.id}: {report.score:g}/{report.max_score:g} ({report.status.value})"
        )
        if bar is not None:
            bar.update(bar.task_ids[0], advance=1, last=line)
        else:
            print(f"[{done}/{total}] {line}, {report.execution_time:.1f} s", file=sys.stderr)

    already = len(graded_before)
    if already:
        print(f"{already} submission(s) already graded with the same inputs; --force regrades",
              file=sys.stderr)  # fmt: skip
    try:
        with terminal.progress(total - already) as bar:
            if args.cluster:
                reports = await asyncio.to_thread(
                    grade_on_cluster, args.cluster, p, found.submissions, on_done, skip
                )
            else:
                reports = await grade_many(p, found.submissions, on_done, skip)
        if args.similarity:  # before summary.html, which links it
            from ..analysis.similarity_report import after_grading

            print(after_grading(assignment, found, out))
    finally:  # also after Ctrl-C: the gradebook covers every finished report
        write_run(out, ungradable_score=args.ungradable_score)
    if reports:
        terminal.out.print(terminal.grade_table(reports))
    print(f"reports in {out}/ (gradebook.csv, summary.html, <id>/feedback.html)")
    return _exit_code(reports)


async def _check(args: argparse.Namespace) -> int:
    if not args.submission.is_file():
        raise UsageError(f"{args.submission}: no such file")
    # The files beside the notebook go with it, as when the instructor grades its folder.
    sub, skipped = load_with_siblings(args.submission, exclude=(args.out, Path("dist")))
    assignment = assignment_for(sub, args.assignment, args.submission.parent)
    for path, reason in skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    p: Prepared = await prepare(assignment, _settings(args, public_only=True))
    if p.sandbox.name == "none":
        print(
            "note: bubblewrap is not available; your code runs without a sandbox", file=sys.stderr
        )
    report = await grade_submission(p, sub)
    folder = write_submission(args.out, report)
    print(f"{assignment.title}: public checks for {args.submission} (sandbox: {report.sandbox})")
    terminal.out.print(terminal.check_table(report))
    terminal.print_fixes(report)
    terminal.out.print(report.output, soft_wrap=True, markup=False)
    print(f"feedback: {folder / 'feedback.html'}")
    if report.status is not Status.GRADED:
        return ExitCode.UNGRADABLE if report.status is Status.UNGRADABLE else ExitCode.INTERNAL
    return ExitCode.OK if report.all_passed else ExitCode.POINTS_LOST


async def _verify_reference_runs(p: Prepared) -> list[str]:
    """Two more reference runs: the same seeds (is every check deterministic?) and other
    seeds (does each hidden check's expected value depend on its inputs?)."""
    problems = []
    a = p.assignment
    # the reference runs on the CPU, where grading runs it (this run's zygote, or fresh)
    opts: dict[str, Any] = {"device": "cpu", "data": p.data, "trusted": trusted_kernels(p)}
    again = await run_reference(a, p.suite, p.seeds, **opts)
    moved_seeds = {n: (s + 7919) % 2**31 for n, s in p.seeds.items()}
    other = await run_reference(a, p.suite, moved_seeds, **opts)
    for c in p.suite.checks:
        first, second, moved = p.reference.get(c.name), again.get(c.name), other.get(c.name)
        if not (first and second and first.kind == second.kind == ProbeKind.VALUE):
            continue
        if not c.compare(first.value, second.value, c.label).passed:
            problems.append(f"{c.name!r} is not deterministic: two reference runs disagree")
        same = (
            moved is not None
            and moved.kind == ProbeKind.VALUE
            and c.compare(first.value, moved.value, c.label).passed
        )
        if c.hidden and same and not a.fixed_hidden_inputs:
            problems.append(
                f"hidden check {c.name!r} gives the same expected value for other inputs: "
                "a hard-coded answer would pass it (does its probe use ctx.seed / ctx.rng()?)"
            )
    return problems


async def _verify(args: argparse.Namespace) -> int:
    assignment = find_assignment(args.assignment)
    p = await prepare(assignment, _settings(args), allow_broken_reference=True)
    problems = []
    ref_report = await grade_submission(
        p, load_file(assignment.reference_submission(), "reference")
    )
    # Every check must be reached on the template, prerequisites or not.
    tmpl = load_file(assignment.template, "template")
    tmpl_report = await grade_submission(p, tmpl, use_depends=False)
    for t in ref_report.tests:
        if (gone := missing_file(t.error)) and t.outcome is not Outcome.PASSED:
            problems.append(f"{t.name!r}: the reference could not open {gone!r}: the "
                            f"assignment's data files go in {assignment.root / 'data'}/ (copied "
                            "beside every notebook the harness runs); is it there, under that "
                            "name?")  # fmt: skip
        elif t.outcome is not Outcome.PASSED:
            problems.append(f"the reference fails {t.name!r}: {t.message}")
    for t in tmpl_report.tests:
        if t.score > 0:
            problems.append(f"the untouched template earns points on {t.name!r}")
        if t.outcome is Outcome.SKIPPED:
            problems.append(f"{t.name!r} is never reached on the template: {t.message}")
    code = [c.source for c in nbformat.read(assignment.template, 4).cells if c.cell_type == "code"]
    problems += template_problems(tmpl_report.cells, code)
    problems += [
        f"heavy_imports lists {m!r}, which the kernels' Python ({assignment.python.describe()}) "
        "cannot import: install it there"
        for m in unimportable(assignment.python, assignment.heavy_imports)
    ]
    problems += await _verify_reference_runs(p)
    problems += verify_mistakes(p.suite, p.mistakes, p.reference, p.mistake_results)
    if all(t.outcome is Outcome.PASSED for t in ref_report.tests):  # #35.4: degenerate checks
        problems += [w.line() for w in await weak_checks(p)]
    if abs(p.suite.total_points - assignment.total_points) > 1e-9:
        problems.append(
            f"points total {p.suite.total_points:g}, not {assignment.total_points:g} "
            "([grading] total_points)"
        )
    print(f"{assignment.name}: {len(p.suite.checks)} checks, {p.suite.total_points:g} points")
    print(f"  reference: {ref_report.score:g}/{ref_report.max_score:g} ({trusted_kernels(p)})")
    print(f"  template:  {tmpl_report.score:g}/{tmpl_report.max_score:g}")
    if p.mistakes:
        print(f"  known mistakes: {len(p.mistakes)} ({', '.join(m.id for m in p.mistakes)})")
    for msg in problems:
        print(f"  PROBLEM: {msg}")
    if (args.mutants or args.mutants_json) and not problems:
        await _verify_mutants(p, args.mutants_json)
    elif args.mutants or args.mutants_json:
        print("  mutants: not run; fix the problems above first")
    print("verify: ok" if not problems else f"verify: {len(problems)} problem(s)")
    return ExitCode.OK if not problems else ExitCode.USAGE


async def _verify_mutants(p: Prepared, json_path: Path | None) -> None:
    """``verify --mutants``: how many one-change variants of the reference the checks catch."""
    from ..analysis import mutants

    source = p.assignment.reference_submission().read_text(encoding="utf-8")
    made = mutants.make_mutants(source, p.assignment.stubs)
    s = mutants.summary(await mutants.run_mutants(p, made))
    mutants.print_summary(s, lambda stub: [c.name for c in mutants.stub_checks(p, stub)])
    if json_path is not None:
        mutants.write_json(json_path, s)


async def _build(args: argparse.Namespace) -> int:
    assignment = find_assignment(args.assignment)
    p = await prepare(assignment, _settings(args))
    dest = write_bundle(
        assignment, p.suite, p.reference, p.seeds, args.out / assignment.name,
        p.mistakes, p.mistake_results,
    )  # fmt: skip
    n = len(p.suite.public().checks)
    print(f"student bundle for {assignment.name}: {dest}/ ({n} public checks, no secrets)")
    print("hand out to students:")
    for f in handout(dest):
        print(f"  {f}")
    print(f"students check in the notebook with check(...), or run: grader check NOTEBOOK "
          f"--assignment {dest}")  # fmt: skip
    return ExitCode.OK


def _export(args: argparse.Namespace) -> int:
    """``grader export canvas|moodle``: never regrades, never changes a score."""
    from ..lms.canvas import export_canvas
    from ..lms.export import load_reports
    from ..lms.moodle import export_moodle

    reports = load_reports(args.reports)
    out = args.out or args.reports / args.lms
    if args.lms == "canvas":
        done = export_canvas(reports, args.gradebook, out, args.assignment)
    else:
        named = {"id": args.id_column, "grade": args.grade_column,
                 "feedback": args.feedback_column, "max": args.max_column,
                 "name": args.name_column, "team": args.team_column}  # fmt: skip
        done = export_moodle(reports, args.worksheet, out, named)
    for line in done.lines():
        print(line)
    return ExitCode.OK


def _publish(args: argparse.Namespace) -> int:
    """``grader publish canvas``: resumable; --dry-run sends nothing."""
    from ..lms.export import load_reports
    from ..lms.publish_canvas import publish_canvas, read_token

    reports = load_reports(args.reports)
    token = read_token(args.token_file)
    try:
        import canvasapi  # noqa: F401
    except ImportError as exc:
        raise UsageError("publishing needs canvasapi: pip install 'graders[lms]'") from exc
    done = publish_canvas(
        reports, url=args.url, course=args.course, assignment=args.assignment, token=token,
        dry_run=args.dry_run,
    )  # fmt: skip
    for line in done.lines(args.dry_run):
        print(line)
    return ExitCode.OK


async def _closing(command: Awaitable[int]) -> int:
    """Run a command; then stop the zygotes it started, however it ended."""
    try:
        return await command
    finally:
        await close_all()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "data":
            from ..grading.data import write_fashion_mnist

            root = write_fashion_mnist(args.synthetic)
            print(f"synthetic FashionMNIST-format data written to {root}/FashionMNIST/raw")
            return ExitCode.OK
        if args.command == "export":
            return _export(args)
        if args.command == "publish":
            return _publish(args)
        if args.command == "similarity":
            from ..analysis.similarity_report import command

            return command(args)
        if args.command == "import":
            from ..authoring.importing import import_command

            return import_command(args.format, args.source, args.name, args.root)
        if args.command == "new":
            from ..authoring.scaffold import new_assignment

            for path in new_assignment(args.root, args.name, args.title, args.classes):
                print(f"wrote {path}")
            print(
                f"next: edit them (docs/writing-an-assignment.md), then grader verify {args.name}"
            )
            return ExitCode.OK
        runner = {"grade": _grade, "check": _check, "verify": _verify, "build": _build}[
            args.command
        ]
        return int(asyncio.run(_closing(runner(args))))
    except GraderError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("grader: interrupted; finished reports are kept, rerun to resume", file=sys.stderr)
        return ExitCode.INTERRUPTED
