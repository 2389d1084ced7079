"""graders: grade machine-learning exercises (notebooks and modules) in sandboxed kernels.

The public surface is what this module exports (``__all__``, pinned by a test); every other
module is private and may change between versions.

- Grading from Python: :func:`grade` returns one :class:`Report` per submission.
- The result model: :class:`Report`, :class:`CheckResult`, :class:`Outcome`,
  :class:`Status`, :class:`Event`, :class:`EventKind`.
- Errors: :class:`GraderError` and its kinds, each with the exit code the command uses.
- Writing checks: :func:`check`, :class:`Plot`, :func:`helper`, the comparators
  :func:`allclose`, :func:`exact`, :func:`within`; known mistakes: :func:`mistake`.
"""

__version__ = "0.1.0"

from .api import grade
from .errors import AssignmentError, ExitCode, GraderError, HarnessError, SandboxError, UsageError
from .grading.mistakes import mistake
from .verdict.checks import Plot, check, helper
from .verdict.compare import allclose, exact, within
from .verdict.model import CheckResult, Event, EventKind, Outcome, Report, Status

__all__ = [
    "AssignmentError", "CheckResult", "Event", "EventKind", "ExitCode", "GraderError",
    "HarnessError", "Outcome", "Plot", "Report", "SandboxError", "Status", "UsageError",
    "__version__", "allclose", "check", "exact", "grade", "helper", "mistake", "within",
]  # fmt: skip
