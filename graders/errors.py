"""Harness errors and exit codes.

The exception tree (a student's wrong answer is never an exception; it is an outcome)::

    GraderError                 base of everything the harness raises on purpose
    ├── UsageError              bad command line or missing input        -> exit 2
    ├── AssignmentError         a broken assignment, checks or reference -> exit 2
    ├── SandboxError            the sandbox cannot be set up here        -> exit 4
    └── HarnessError            the harness itself failed                -> exit 4
        └── KernelStartError    a kernel could not start (environment, sandbox)
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes of ``grader``; a contract for LMS pipelines (see README)."""

    OK = 0  # single: every check passed; bulk: every submission graded
    POINTS_LOST = 1  # single submission graded with points lost
    USAGE = 2  # usage or configuration error
    UNGRADABLE = 3  # a submission could not be graded
    INTERNAL = 4  # harness or infrastructure failure


class GraderError(Exception):
    """Base class of the harness's own errors."""

    exit_code = ExitCode.INTERNAL


class UsageError(GraderError):
    exit_code = ExitCode.USAGE


class AssignmentError(GraderError):
    exit_code = ExitCode.USAGE


class SandboxError(GraderError):
    exit_code = ExitCode.INTERNAL


class HarnessError(GraderError):
    exit_code = ExitCode.INTERNAL


class KernelStartError(HarnessError):
    """A kernel did not start: the machine's environment or sandbox, never the submission
    (no student code has run yet)."""
