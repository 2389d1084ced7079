"""Harness errors and exit codes.

The exception tree (a student's wrong answer is never an exception; it is an outcome)::

    GraderError                 base of everything the harness raises on purpose
    ├── UsageError              bad command line or missing input        -> exit 2
    ├── AssignmentError         a broken assignment, checks or reference -> exit 2
    ├── SandboxError            the sandbox cannot be set up here        -> exit 4
    └── HarnessError            the harness itself failed                -> exit 4
        ├── KernelStartError    a kernel could not start (environment, sandbox)
        └── KernelHostLost      the zygote a kernel was forked from died: regrade
"""

from __future__ import annotations

import enum
import os


class ExitCode(enum.IntEnum):
    """Exit codes of ``grader``; a contract for LMS pipelines (the README's table and
    ``grader --help`` are made from :data:`EXIT_MEANINGS`; a test keeps the README in step)."""

    OK = 0
    POINTS_LOST = 1
    USAGE = 2
    UNGRADABLE = 3
    INTERNAL = 4
    INTERRUPTED = 130  # as a shell reports Ctrl-C


EXIT_MEANINGS = {
    ExitCode.OK: "single submission: every check passed; bulk: every submission was graded",
    ExitCode.POINTS_LOST: "single submission graded with points lost",
    ExitCode.USAGE: "usage or configuration error (bad arguments, broken assignment or reference)",
    ExitCode.UNGRADABLE: "a submission could not be graded (not a notebook/module, unreadable)",
    ExitCode.INTERNAL: "harness or infrastructure failure",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); finished reports are kept, a rerun resumes",
}


def exit_codes_help() -> str:
    """The exit-code table of ``grader --help``."""
    return "exit codes:\n" + "".join(f"  {int(c):<3} {text}\n" for c, text in EXIT_MEANINGS.items())


def default_jobs() -> int:
    """Submissions graded at once unless told: one per core."""
    return os.cpu_count() or 1


class GraderError(Exception):
    """Base class of the harness's own errors."""

    exit_code = ExitCode.INTERNAL


class UsageError(GraderError):
    """Bad arguments or configuration: the person running the command can fix it."""

    exit_code = ExitCode.USAGE


class AssignmentError(GraderError):
    """A broken assignment (its toml, checks, reference): the instructor can fix it."""

    exit_code = ExitCode.USAGE


class SandboxError(GraderError):
    """The sandbox asked for cannot run on this machine."""

    exit_code = ExitCode.INTERNAL


class HarnessError(GraderError):
    """The harness or the machine failed on a submission: never the student's fault."""

    exit_code = ExitCode.INTERNAL


class KernelStartError(HarnessError):
    """A kernel did not start: the machine's environment or sandbox, never the submission
    (no student code has run yet)."""


class KernelHostLost(HarnessError):
    """The zygote that a kernel was forked from died, and the kernel with it: not the
    submission's doing, so the run grades that submission again on a new zygote."""

    def __init__(self, provider: str) -> None:
        super().__init__(f"the process that forked the kernel stopped ({provider})")
