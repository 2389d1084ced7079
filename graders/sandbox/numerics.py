"""The settings that choose how the kernels compute floats, and nothing else.

Kernels get a scrubbed environment, so a setting on the host reaches them only on purpose:
- ``ATEN_CPU_CAPABILITY`` (torch's own variable: ``default``, ``avx2``, ``avx512``...) picks
  torch's SIMD kernels. Unset, torch picks by CPU, so the last bits of a float32 sum differ
  between machines (one or two units in the last place over 100 epochs). Set on the host, it
  is passed to every kernel (the reference's too), so a class graded on several machines can
  compute alike, and the test suite can prove that no verdict hangs on those bits.
- ``GRADER_KERNEL_THREADS`` (default 1) becomes the kernels' ``OMP_NUM_THREADS`` and
  ``MKL_NUM_THREADS``. One thread per kernel is the default because kernels run side by side
  and a result must not depend on how many cores the grading machine has.

Both enter the reference cache key: a reference computed one way is not reused for the other.
"""

from __future__ import annotations

import os

from ..errors import UsageError

CAPABILITY = "ATEN_CPU_CAPABILITY"
THREADS = "GRADER_KERNEL_THREADS"
DEFAULT_THREADS = 1


def kernel_threads() -> int:
    """The kernels' thread count; a value that is not a positive whole number is a usage error
    (exit 2) the operator sees at once, not a silent default."""
    raw = os.environ.get(THREADS, "").strip()
    if not raw:
        return DEFAULT_THREADS
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(f"{THREADS} must be a positive whole number, not {raw!r}")
    return int(raw)


def numerics_env() -> dict[str, str]:
    """What the kernel's environment gets from this module."""
    threads = str(kernel_threads())
    env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    if capability := os.environ.get(CAPABILITY, "").strip():
        env[CAPABILITY] = capability
    return env
