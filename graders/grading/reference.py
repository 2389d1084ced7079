"""The reference side: the same probes, run once on the reference solution, cached on disk.

The cache key covers everything that can change an expected value: the assignment's files
(config, checks, reference; not mistakes.py), the in-kernel runtime, the harness version, the
library versions, the device and the kernels' numerics settings (numerics.py). The reference
is trusted code: it runs without a sandbox, or on the run's zygote (:class:`TrustedKernels`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import AssignmentError
from ..kernel.providers import FRESH, KernelProvider
from ..kernel.setup import RUNTIME_SOURCE
from ..report.pages import atomic_write
from ..sandbox.bwrap import NoSandbox, Sandbox
from ..sandbox.numerics import numerics_env
from ..spec.assignment import Assignment
from ..verdict.checks import CheckSuite
from ..verdict.codec import CodecError, decode, encode
from ..verdict.results import ProbeKind, ProbeResult
from .execute import Source, execute_submission


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """The versions that can change a result; read once per process (every report has them)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("numpy", "torch", "torchvision", "scikit-learn", "ipykernel"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def seeds(assignment: Assignment, suite: CheckSuite) -> dict[str, int]:
    """Each check's seed. A hidden check's comes from the assignment's secret and the check's
    name; a public check's from public data only (the assignment's and the check's names):
    the bundle shows public seeds to students, and they must say nothing of the secret."""

    def derive(text: str) -> int:
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % 2**31

    return {
        c.name: derive(
            f"{assignment.secret_seed}:{c.name}"
            if c.hidden
            else f"public:{assignment.name}:{c.name}"
        )
        for c in suite.checks
    }


@dataclass(frozen=True)
class TrustedKernels:
    """Where the reference and the known mistakes (trusted code) run.

    ``sandbox=None``: no sandbox, a fresh kernel each (the default, and the fallback). A run
    whose students get forked kernels passes its own sandbox and zygote here instead: the
    zygote has imported the heavy modules once for the whole run, so the reference and each
    mistake start in well under a second instead of importing torch again, and share that
    boot with the students' kernels. The sandbox costs trusted code nothing (its files travel
    with it as the students' do, into a kernel of its own), and the reference's source is
    only ever in that kernel's own folder, which no student kernel can see."""

    sandbox: Sandbox | None = None
    provider: KernelProvider = FRESH
    jobs: int = 2  # kernels at once, the reference's and the mistakes' together

    def sandbox_for(self, assignment: Assignment) -> Sandbox:
        return self.sandbox or NoSandbox(assignment.python)

    def __str__(self) -> str:
        """Where they ran, as verify says it."""
        if self.sandbox is None:
            return "run in fresh kernels, no sandbox"
        return "run on this run's zygote, sandboxed"


DIRECT = TrustedKernels()


def cache_key(assignment: Assignment, device: str) -> str:
    h = hashlib.sha256()
    h.update(assignment.fingerprint(mistakes=False).encode())
    h.update(RUNTIME_SOURCE.encode())
    h.update(__version__.encode())
    h.update(json.dumps(library_versions(), sort_keys=True).encode())
    h.update(device.encode())
    h.update(json.dumps(numerics_env(), sort_keys=True).encode())
    h.update(json.dumps(dataclasses.asdict(assignment.python)).encode())
    return h.hexdigest()[:24]


def default_cache_dir() -> Path:
    if env := os.environ.get("GRADER_CACHE_DIR"):
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "grader"


def dump_results(results: dict[str, ProbeResult]) -> dict[str, Any]:
    """Probe results as JSON-ready data (values through the safe codec), for a cache file."""
    return {
        name: {
            "kind": r.kind,
            "value": encode(r.value) if r.kind == ProbeKind.VALUE else None,
            "error": r.error,
            "note": r.note,
            "type": r.vtype,
        }
        for name, r in results.items()
    }


def load_results(raw: dict[str, Any]) -> dict[str, ProbeResult]:
    """The inverse of :func:`dump_results`."""
    out = {}
    for name, r in raw.items():
        value = decode(r["value"]) if r["kind"] == "value" else None
        out[name] = ProbeResult(
            ProbeKind(r["kind"]),
            value=value,
            error=r.get("error"),
            note=r.get("note", ""),
            vtype=r.get("type"),
        )
    return out


async def run_reference(
    assignment: Assignment,
    suite: CheckSuite,
    seed_for: dict[str, int],
    *,
    device: str,
    data: Path | None,
    trusted: TrustedKernels = DIRECT,
) -> dict[str, ProbeResult]:
    """Run every check's probe on the reference solution (trusted code), uncached."""
    solution = assignment.reference_submission()
    ex = await execute_submission(
        Source.from_module("solution.py", solution.read_bytes()).with_files(assignment.data_files),
        suite.checks,
        trusted.sandbox_for(assignment),
        assignment.limits,
        seed_for=seed_for,
        device=device,
        data=data,
        preload=assignment.heavy_imports,
        provider=trusted.provider,
    )
    broken = [c for c in ex.cells if c.status not in ("ok", "skipped")]
    if broken:
        err = broken[0].error or {}
        raise AssignmentError(
            f"the reference {solution} fails to run: {err.get('type')}: {err.get('message')}"
        )
    return {name: r.without_failed_cases() for name, r in ex.probes.items()}


async def reference_results(
    assignment: Assignment,
    suite: CheckSuite,  # every check, public and hidden: one cache entry serves all runs
    *,
    cache_dir: Path,
    device: str,
    data: Path | None,
    trusted: TrustedKernels = DIRECT,
) -> dict[str, ProbeResult]:
    key = cache_key(assignment, device)
    path = cache_dir / "reference" / f"{assignment.name}-{key}.json"
    if path.is_file():
        try:
            cached = load_results(json.loads(path.read_text()))
            if all(c.name in cached for c in suite.checks):
                return cached
        except (ValueError, KeyError, CodecError):
            pass  # a damaged cache entry is recomputed
    probes = await run_reference(
        assignment, suite, seeds(assignment, suite), device=device, data=data, trusted=trusted
    )
    atomic_write(path, json.dumps(dump_results(probes)))
    return probes


def reference_failures(results: dict[str, Any]) -> list[str]:
    return [name for name, r in results.items() if r.kind != ProbeKind.VALUE]
