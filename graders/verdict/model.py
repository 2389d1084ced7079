"""The one result model every renderer (JSON, Gradescope, HTML, terminal, CSV) reads."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from .results import CellStatus, ProbeResult

# 1.1: submission ids keep non-ASCII letters; a case of a check may say its outcome
# 1.2: event_kinds, the kind of each event (readers match kinds, never the wording)
SCHEMA_VERSION = "1.2"


class Outcome(str, enum.Enum):
    """How one check ended for one submission."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    TIMEOUT = "timeout"
    MISSING = "missing"
    SKIPPED = "skipped"


class Status(str, enum.Enum):
    """Whether a submission was graded; ``error`` is the harness's failure, not theirs."""

    GRADED = "graded"
    UNGRADABLE = "ungradable"
    ERROR = "error"  # the harness failed on this submission


class EventKind(str, enum.Enum):
    """What happened to a submission's run, besides its cells and checks."""

    KERNEL_RESTARTED = "kernel_restarted"  # it died or hung; restarted, its cells re-run
    KERNEL_NOT_RESTARTED = "kernel_not_restarted"  # the restart limit or the deadline
    NO_CGROUP = "no_cgroup"  # memory and processes were limited only roughly
    GRADED_AGAIN = "graded_again"  # the harness lost the kernel's host (a zygote)
    PRESTART_FAILED = "prestart_failed"  # a kernel started ahead failed; it started anew
    RENDER_FAILED = "render_failed"  # feedback.html could not be rendered


@dataclass(frozen=True)
class Event:
    """Something that happened to a run (a restart, a limit), its kind and its words."""

    kind: EventKind
    message: str  # what the instructor and the student read

    def __str__(self) -> str:
        return self.message


@dataclass
class CaseResult:
    """One case of a check with cases: its own outcome and, where shown, its values."""

    name: str
    outcome: Outcome
    message: str | None = None  # why it failed; None when it passed
    expected: str | None = None  # short renderings, feedback "full" only
    got: str | None = None

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASSED

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "passed": self.passed}
        d["outcome"] = self.outcome.value
        for key in ("message", "expected", "got"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        return d


@dataclass
class PlotData:
    """A result drawn beside the reference's on the feedback page (public values only)."""

    kind: str  # line | parabola
    key: str | None  # the field of a dict result that is drawn
    expected: list[float]
    got: list[float] | None
    caption: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckResult:
    """One check's verdict on one submission: outcome, points and what the student reads."""

    name: str
    stub: str
    outcome: Outcome
    score: float
    max_score: float
    hidden: bool
    message: str  # what the student reads; never expected values of a hidden check
    expected: str | None = None  # short renderings, public checks only
    got: str | None = None
    error: dict[str, Any] | None = None  # the student's exception: type, message, frames
    output: str = ""  # what the student's code printed during the check
    duration: float = 0.0
    cases: list[CaseResult] = field(default_factory=list)
    plot: PlotData | None = None  # checks whose feedback is "full" only
    feedback: str = "full"  # full | message | none: how much of a failure the student sees
    mistake: dict[str, str] | None = None  # a known mistake its result shows: id, title, ...

    @property
    def status(self) -> str:
        return "passed" if self.outcome is Outcome.PASSED else "failed"

    @property
    def title(self) -> str:
        """The name without its stub, under the stub's heading on the feedback page."""
        return self.name.removeprefix(f"{self.stub}: ")


@dataclass
class CellResult:
    """One notebook cell as the student's run left it (a module is one cell)."""

    index: int  # 1-based, as the student counts their code cells
    status: CellStatus
    error: dict[str, Any] | None = None  # type, message, traceback
    output: str = ""
    duration: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in (CellStatus.ERROR, CellStatus.TIMEOUT, CellStatus.DIED)


@dataclass
class SubmissionInfo:
    id: str
    path: str
    kind: str  # notebook | module | other
    sha256: str
    inputs_key: str = ""  # a rerun with the same key is skipped
    student: str | None = None  # the name an LMS export gives
    student_id: str | None = None  # the LMS's id (the gradebook's import key)
    note: str = ""  # which of several files counted, a late marker


@dataclass
class Report:
    """Everything known about one graded submission; every renderer reads only this."""

    submission: SubmissionInfo
    assignment: dict[str, str]
    harness: dict[str, str]
    status: Status
    score: float
    max_score: float
    tests: list[CheckResult] = field(default_factory=list)
    execution_time: float = 0.0
    output: str = ""  # the summary a student reads first
    reason: str = ""  # why a submission is ungradable or errored
    device: dict[str, str] = field(default_factory=dict)
    sandbox: str = ""
    data: str = "none"  # real | synthetic | none: which dataset the kernel saw
    cells: list[CellResult] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    # questions graded by hand ([[manual]]: name, title, points): listed, never scored here
    manual: list[dict[str, Any]] = field(default_factory=list)
    # Not in report.json: why the kernel could not start (the machine's fault, not the
    # student's); "" when it started. The run stops when the first kernels all fail.
    start_error: str = field(default="", compare=False)
    # Not in report.json: each check's raw probe result (``grader verify --mutants`` compares
    # them with the reference's).
    probes: dict[str, ProbeResult] = field(default_factory=dict, compare=False, repr=False)

    @property
    def all_passed(self) -> bool:
        return self.status is Status.GRADED and all(t.outcome is Outcome.PASSED for t in self.tests)

    def to_dict(self) -> dict[str, Any]:
        """report.json: a superset of Gradescope's results.json (see graders/schema)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "score": round(self.score, 4),
            "max_score": self.max_score,
            "status": self.status.value,
            "reason": self.reason,
            "execution_time": round(self.execution_time, 3),
            "output": self.output,
            "tests": [
                {
                    "name": t.name,
                    "stub": t.stub,
                    "score": round(t.score, 4),
                    "max_score": t.max_score,
                    "status": t.status,
                    "outcome": t.outcome.value,
                    "output": t.message,
                    "visibility": "visible",
                    "hidden": t.hidden,
                    "expected": t.expected,
                    "got": t.got,
                    "error": t.error,
                    "stdout": t.output,
                    "duration": round(t.duration, 3),
                    "cases": [c.to_dict() for c in t.cases],
                    "plot": t.plot.to_dict() if t.plot else None,
                    "feedback": t.feedback,
                    "mistake": t.mistake,
                }
                for t in self.tests
            ],
            "submission": asdict(self.submission),
            "assignment": self.assignment,
            "harness": self.harness,
            "device": self.device,
            "sandbox": self.sandbox,
            "data": self.data,
            "cells": [
                {
                    "index": c.index,
                    "status": c.status.value,
                    "error": c.error,
                    "output": c.output,
                    "duration": round(c.duration, 3),
                }
                for c in self.cells
            ],
            "events": [e.message for e in self.events],
            "event_kinds": [e.kind.value for e in self.events],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "misconceptions": self.misconceptions(),
            **({"manual": self.manual} if self.manual else {}),  # absent: as before it existed
        }

    def misconceptions(self) -> list[dict[str, Any]]:
        """The known mistakes this submission's results show, each with its checks."""
        found: dict[str, dict[str, Any]] = {}
        for t in self.tests:
            if t.mistake:
                entry = found.setdefault(t.mistake["id"], {**t.mistake, "checks": []})
                entry["checks"].append(t.name)
        return list(found.values())
