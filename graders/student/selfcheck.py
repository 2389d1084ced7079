"""The in-notebook check: ``check("accuracy")`` (one stub) or ``check()`` (all) in a cell.

It runs the assignment's *public* checks on the functions and classes as they are now in the
student's running kernel, against the expected results of the student bundle (``grader
build``): never the reference, hidden checks, the secret seed or a known mistake's code, which
the bundle does not hold. Each check runs the probe code grading runs
(:class:`graders.inside.runtime.Runtime`), its result goes through the same codec
(:func:`graders.verdict.results.decode_payload`) and is scored by the same functions
(:func:`graders.verdict.score.evaluate`, :func:`graders.verdict.diagnose.name_mistakes`); so a
public check's verdict here is the one ``grader grade`` gives it (``tests/test_selfcheck.py``
holds them equal on every scenario). A check's seed is the bundle's, as in grading.

What it leaves in the student's kernel: nothing it changed. The global random states
(``random``, numpy, torch) are put back after each check; what the checked code prints goes to
the report, not the cell; an exception, or a check running past its time limit (SIGALRM where
there is one, else a timer thread interrupting the main thread), is that check's verdict.
Ctrl-C or the interrupt button stops the remaining checks.

Light on purpose: the standard library, numpy and jinja2. ``grader build`` copies this module
and those it imports into the assignment's self-check package
(:mod:`graders.student.wheel`); the harness's own package is not needed in the kernel.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..inside import runtime
from ..report.pages import render_feedback
from ..verdict.checks import Check, CheckSuite
from ..verdict.diagnose import Mistake, Results, name_mistakes
from ..verdict.model import CheckResult, Outcome, Report, Status, SubmissionInfo
from ..verdict.results import ProbeKind, ProbeResult, decode_payload, needs_first
from ..verdict.score import evaluate, summary_line, where
from .bundle_data import (
    CHECKS_FILE,
    EXPECTED_FILE,
    META_FILE,
    MISTAKES_FILE,
    SIGNATURES_FILE,
    checks_from,
    expected_from,
    mistakes_from,
)
from .view import Progress, compact_html, framed_page, markdown

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

STOPPED = "you stopped the checks"
DIAGNOSIS = "Possible mistake"  # a guess from the public checks; grading sees hidden ones too
PUBLIC_NOTE = "These are the public checks only; grading adds hidden ones."


@dataclass(frozen=True)
class Bundle:
    """What the in-notebook check knows: the student bundle's public data."""

    meta: dict[str, Any]
    suite: CheckSuite
    seeds: dict[str, int]
    expected: dict[str, ProbeResult]
    mistakes: tuple[Mistake, ...]
    mistake_results: Results
    signatures: dict[str, str]

    @classmethod
    def read(cls, root: Traversable) -> Bundle:
        """From a folder (a Path) or a package's resources (zip-imported ones too)."""

        def load(name: str) -> Any:
            return json.loads((root / name).read_text(encoding="utf-8"))

        suite, seeds = checks_from(load(CHECKS_FILE), root / CHECKS_FILE)  # type: ignore[arg-type]
        mistakes, results = mistakes_from(load(MISTAKES_FILE))
        return cls(
            load(META_FILE), suite, seeds, expected_from(load(EXPECTED_FILE)), mistakes,
            results, load(SIGNATURES_FILE),
        )  # fmt: skip


class _Limit:
    """One check's time limit in this process. ``fired`` tells a timeout from Ctrl-C."""

    def __init__(self, seconds: float) -> None:
        self.seconds = max(seconds, 0.001)
        self.fired = False
        self._old: Any = None  # the SIGALRM handler put back on exit, where we set ours
        self._timer: threading.Timer | None = None

    def __enter__(self) -> _Limit:
        if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGALRM, self._alarm) or signal.SIG_DFL
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        else:  # Windows, or not the main thread: interrupt the main thread from a timer
            self._timer = threading.Timer(self.seconds, self._interrupt)
            self._timer.daemon = True
            self._timer.start()
        return self

    def _alarm(self, signum: int, frame: Any) -> None:
        self.fired = True
        raise KeyboardInterrupt

    def _interrupt(self) -> None:
        import _thread

        self.fired = True
        _thread.interrupt_main()

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        else:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old)


@contextlib.contextmanager
def _random_state_kept() -> Any:
    """A check seeds the global generators (``ctx.manual_seed()``); the student's stay."""
    kept: list[tuple[Any, Any]] = [(random.setstate, random.getstate())]
    np = sys.modules.get("numpy")
    if np is not None:
        kept.append((np.random.set_state, np.random.get_state()))
    torch = sys.modules.get("torch")
    if torch is not None:
        kept.append((torch.set_rng_state, torch.get_rng_state()))
        with contextlib.suppress(Exception):
            if torch.cuda.is_initialized():
                kept.append((torch.cuda.set_rng_state_all, torch.cuda.get_rng_state_all()))
    try:
        yield
    finally:
        for put_back, state in kept:
            with contextlib.suppress(Exception):
                put_back(state)


class Stopped(Exception):
    """The student pressed Ctrl-C (or the interrupt button) during a check; ``result`` holds
    how long it ran and where their code was."""

    def __init__(self, result: ProbeResult) -> None:
        super().__init__(STOPPED)
        self.result = result


def run_probe(check: Check, ns: dict[str, Any], ctx: dict[str, Any], seconds: float) -> ProbeResult:
    """One check's probe on ``ns`` (the student's globals), as grading runs it in a kernel."""
    rt = runtime.Runtime(ns)
    out = io.StringIO()
    start = time.monotonic()
    limit = _Limit(seconds)
    try:
        with (
            _random_state_kept(),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(out),
            limit,  # innermost: off before anything else is put back
        ):
            rt.run(check.source, check.func_name, json.dumps(ctx))
        got = decode_payload(rt.take_text())
    except KeyboardInterrupt:  # the limit fired just as the probe returned, or Ctrl-C
        got = ProbeResult(ProbeKind.TIMEOUT)
    got.output = out.getvalue()[-20_000:]
    got.duration = time.monotonic() - start
    if got.kind is ProbeKind.TIMEOUT:
        if not limit.fired:
            raise Stopped(got)
        got.note = f"ran past {seconds:g} s"
    return got


def _device(meta: dict[str, Any]) -> str:
    torch = sys.modules.get("torch")
    if meta.get("allow_cuda") and torch is not None:
        with contextlib.suppress(Exception):
            if torch.cuda.is_available():
                return "cuda"
    return "cpu"


@dataclass
class CheckRun:
    """The result of one ``check(...)``: shown inline (compact HTML, Markdown and text; the
    full page too for ``check()``), or as text without HTML."""

    report: Report
    stopped: bool = False
    probes: dict[str, ProbeResult] = field(default_factory=dict, repr=False)
    full: bool = False  # check() with no names: the full feedback page as well
    headline: str = ""  # the one line above the checks: the score and what to fix

    @property
    def score(self) -> float:
        return self.report.score

    @property
    def max_score(self) -> float:
        return self.report.max_score

    @property
    def all_passed(self) -> bool:
        return not self.stopped and self.report.all_passed

    def to_dict(self) -> dict[str, Any]:
        """report.json's fields, for this notebook's public checks."""
        return self.report.to_dict()

    def _repr_html_(self) -> str:
        out = compact_html(self.report, self.headline, DIAGNOSIS, PUBLIC_NOTE)
        if self.full:
            page = render_feedback(self.report, DIAGNOSIS, in_notebook=True)
            out += framed_page(page, self.report.assignment["title"])
        return out

    def _repr_markdown_(self) -> str:
        return markdown(self.report, self.headline, DIAGNOSIS, PUBLIC_NOTE)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {
            "text/html": self._repr_html_(),
            "text/markdown": self._repr_markdown_(),
            "text/plain": repr(self),
        }

    def __repr__(self) -> str:
        marks = {Outcome.PASSED: "ok  ", Outcome.FAILED: "FAIL"}
        lines = [self.report.output, ""]
        for t in self.report.tests:
            mark = marks.get(t.outcome, t.outcome.value.upper()[:4].ljust(4))
            lines.append(f"{mark} {t.name} ({t.score:g}/{t.max_score:g})")
            if t.outcome is not Outcome.PASSED:
                lines.append(f"     {t.message}")
                if t.expected is not None:
                    lines.append(f"     expected {t.expected}, yours {t.got}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Notice:
    """What ``check(...)`` shows instead of results when it was called wrongly."""

    text: str

    def _repr_html_(self) -> str:
        return f'<p style="color:#b91c1c"><strong>check:</strong> {html.escape(self.text)}</p>'

    def __repr__(self) -> str:
        return f"check: {self.text}"


class SelfCheck:
    """``check(*names)``: the public checks of the stubs (or checks) named, all without a
    name, run on the caller's globals (a notebook's namespace)."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle

    def __call__(self, *names: str) -> CheckRun | Notice:
        ns = sys._getframe(1).f_globals  # the notebook's (or script's) namespace
        try:
            self.select(names)
        except ValueError as exc:  # a typo in a cell: say so, without a traceback of ours
            return Notice(str(exc))
        return self.run(ns, names)

    def select(self, names: tuple[str, ...]) -> list[Check]:
        """The checks named (a stub, a class or a check), with the public checks they depend
        on, in the assignment's order. An unknown name is the caller's mistake: ValueError."""
        checks = self.bundle.suite.checks
        if not names:
            return list(checks)
        chosen: set[str] = set()
        for name in names:
            hits = {c.name for c in checks if name in (c.name, c.stub, c.stub.split(".")[0])}
            if not hits:
                stubs = ", ".join(dict.fromkeys(c.stub for c in checks))
                raise ValueError(f"no check or stub named {name!r}; this assignment has: {stubs}")
            chosen |= hits
        by_name = {c.name: c for c in checks}
        todo = list(chosen)
        while todo:  # prerequisites run too, and are shown
            for d in by_name[todo.pop()].depends:
                if d in by_name and d not in chosen:
                    chosen.add(d)
                    todo.append(d)
        return [c for c in checks if c.name in chosen]

    def run(self, ns: dict[str, Any], names: tuple[str, ...] = ()) -> CheckRun:
        b = self.bundle
        start = time.monotonic()
        checks = self.select(tuple(names))
        device = _device(b.meta)
        ctx_base = {"device": device, "params": {"files": {}}}
        tests: list[CheckResult] = []
        probes: dict[str, ProbeResult] = {}
        passed: dict[str, bool] = {}
        stopped: ProbeResult | None = None
        progress = Progress()
        for i, c in enumerate(checks):
            failed = [d for d in c.depends if not passed.get(d, False)]
            if stopped is not None:
                got = ProbeResult(ProbeKind.SKIPPED, note=STOPPED)
            elif failed:
                got = needs_first(failed)
            else:
                progress.show(f"Running check {i + 1} of {len(checks)}: {c.name} …")
                seconds = c.timeout or float(b.meta["check_timeout"])
                try:
                    got = run_probe(c, ns, {**ctx_base, "seed": b.seeds[c.name]}, seconds)
                except Stopped as stop:
                    got = stopped = stop.result
            probes[c.name] = got
            t = evaluate(c, b.expected.get(c.name), got, b.signatures.get(c.stub, ""))
            tests.append(_as_run(t, got, stopped is got))
            passed[c.name] = t.outcome is Outcome.PASSED
        progress.done()
        # public evidence only: where it cannot tell two mistakes apart, none is named
        name_mistakes(checks, tests, probes, b.mistakes, b.mistake_results, break_ties=False)
        took = time.monotonic() - start
        report = self._report(tests, took, stopped is not None, device)
        return CheckRun(report, stopped is not None, probes, not names, _headline(tests))

    def _report(self, tests: list[CheckResult], took: float, stopped: bool, device: str) -> Report:
        """Scored over the checks that ran: one the student stopped, and those after it, are
        not lost points, only not run."""
        meta = self.bundle.meta
        ran = _ran(tests)
        score = sum(t.score for t in ran)
        top = sum(t.max_score for t in ran)
        line = summary_line(ran, score, top).rstrip() if ran else "No check ran."
        output = f"{line}{'' if line.endswith(('.', '?', '!')) else '.'}"
        if stopped:
            stuck = next(t for t in tests if t not in ran)
            output = (f"Stopped during {stuck.name}: {stuck.message} {len(ran)} of "
                      f"{len(tests)} checks ran: {output}")  # fmt: skip
        return Report(
            submission=SubmissionInfo("this notebook", "", "notebook", ""),
            assignment={k: str(meta[k]) for k in ("name", "title", "version")},
            harness={"name": "graders", "version": __version__},
            status=Status.UNGRADABLE if stopped else Status.GRADED, score=score, max_score=top,
            tests=tests, execution_time=took, output=output, device={"name": device},
            sandbox="none: your own kernel", reason=f"{STOPPED} (Ctrl-C)" if stopped else "",
            manual=list(meta.get("manual", [])),  # graded by hand: listed, never scored
        )  # fmt: skip


def _ran(tests: list[CheckResult]) -> list[CheckResult]:
    """The checks that ran: not the one the student stopped, nor those after it."""
    return [t for t in tests if t.outcome is not Outcome.SKIPPED or STOPPED not in t.message]


def _headline(tests: list[CheckResult]) -> str:
    """The score of the checks that ran and the stubs to fix, or where the student stopped."""
    ran = _ran(tests)
    score, top = sum(t.score for t in ran), sum(t.max_score for t in ran)
    if len(ran) < len(tests):
        stuck = next(t for t in tests if t not in ran)
        n = f"{len(ran)} of {len(tests)}"
        return f"Stopped during {stuck.name}. {n} checks ran: {score:g}/{top:g}."
    wrong = [t for t in tests if t.outcome is not Outcome.PASSED]
    if not wrong:
        return f"{score:g}/{top:g}: every check passed."
    stubs = ", ".join(f"`{s}`" for s in dict.fromkeys(t.stub for t in wrong))
    return f"{score:g}/{top:g}. To fix: {stubs} ({len(wrong)} of {len(tests)} checks)."


def _as_run(t: CheckResult, got: ProbeResult, stuck: bool) -> CheckResult:
    """A check's verdict as the notebook shows it: one the student stopped says after how
    long and where their code was (one that ran past its limit says where, as in grading)."""
    if not stuck:
        return t
    at = where(got)
    text = f"you stopped it after {got.duration:.1f} s" + (f", in {at}" if at else "")
    return replace(t, outcome=Outcome.SKIPPED, score=0.0, message=f"{STOPPED}: {text}.")


def from_folder(root: Traversable) -> SelfCheck:
    """``check = from_folder(Path("dist/intro_ann"))``: the check of a bundle folder (or a
    package's ``bundle`` resources)."""
    return SelfCheck(Bundle.read(root))
