"""Run-wide set-up, once per run: the settings, the assignment's checks and reference
results, the data, the device, the sandbox and the kernel provider (:class:`Prepared`)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import AssignmentError, UsageError, default_jobs
from ..intake import notebook
from ..intake.discover import Submission
from ..kernel.providers import KernelProvider
from ..kernel.session import KernelSession
from ..kernel.zygote import ZygoteProvider, choose_kernels
from ..sandbox.bwrap import Sandbox, get_sandbox, protect
from ..sandbox.cgroups import Cgroup
from ..sandbox.numerics import numerics_env
from ..spec.assignment import Assignment
from ..student import bundle
from ..verdict.checks import CheckSuite
from ..verdict.results import ProbeResult
from .data import has_fashion_mnist, is_synthetic, write_fashion_mnist
from .devices import gpu_names, resolve_device
from .mistakes import Mistake, Results, load_mistakes, mistake_results
from .reference import (
    TrustedKernels,
    cache_key,
    default_cache_dir,
    reference_failures,
    reference_results,
    seeds,
)


@dataclass(frozen=True)
class Settings:
    cache_dir: Path
    sandbox: str = "auto"
    device: str = "cpu"
    jobs: int = field(default_factory=default_jobs)
    data_dir: Path | None = None
    public_only: bool = False
    force: bool = False
    # Start each worker's next kernel (and its heavy imports) while it grades the current
    # submission, so that start-up hides behind work: "on", "off", or "auto" (on only when
    # there are more cores than workers: starting a kernel is CPU work, and on a machine
    # whose cores are all grading it only competes with them; measured in benchmarks/bulk.py).
    prestart: str = "auto"
    # How kernels start: "zygote" (forked from a process that imported the heavy modules once
    # per run), "fresh" (one new sandboxed process each), or "auto" (zygote where it works).
    kernels: str = "auto"

    @classmethod
    def for_run(cls, cache_dir: Path | None, **kw: Any) -> Settings:
        """Settings with the cache folder resolved (the default one when None), as the
        ``grader`` command and :func:`graders.grade` make them."""
        return cls(cache_dir=(cache_dir or default_cache_dir()).resolve(), **kw)

    @property
    def prestarting(self) -> bool:
        if self.prestart == "auto":
            return self.jobs < default_jobs()
        return self.prestart == "on"


@dataclass
class Prepared:
    """Everything shared by all submissions of one run, computed once."""

    assignment: Assignment
    suite: CheckSuite
    reference: dict[str, ProbeResult]
    sandbox: Sandbox
    settings: Settings
    data: Path | None
    synthetic_data: bool
    seeds: dict[str, int]
    device: str = "cpu"  # resolved: cpu or cuda
    gpus: list[str] = field(default_factory=list)  # GPU indices workers are pinned to
    gpu_names: dict[str, str] = field(default_factory=dict)
    # "train(model, loss_fn, optimizer, X, y, epochs)" per stub, as the template defines it
    signatures: dict[str, str] = field(default_factory=dict)
    mistakes: tuple[Mistake, ...] = ()  # known mistakes, and their probes' results
    mistake_results: Results = field(default_factory=dict)
    kernels: KernelProvider = field(default_factory=KernelProvider)
    kernels_note: str = ""  # why --kernels auto chose fresh kernels

    @functools.cached_property
    def fingerprint(self) -> str:
        """The assignment's fingerprint, read once per run, not once per submission."""
        return self.assignment.fingerprint()

    def new_session(self, gpu: str | None) -> KernelSession:
        a = self.assignment
        return KernelSession(self.sandbox, a.limits, self.data, a.heavy_imports, gpu, self.kernels)

    async def close(self) -> None:
        """End of the run: stop the zygotes."""
        await self.kernels.close()

    def inputs_key(self, sub: Submission) -> str:
        """Changes whenever a regrade could change this submission's report."""
        h = hashlib.sha256()
        for part in (
            sub.sha256,
            self.fingerprint,
            __version__,
            self.sandbox.name,
            self.device,
            str(self.settings.public_only),
        ):
            h.update(part.encode())
            h.update(b"\0")
        return h.hexdigest()[:24]


def resolve_data(assignment: Assignment, settings: Settings) -> tuple[Path | None, bool]:
    if assignment.data is None:
        return None, False
    if settings.data_dir is not None:
        root = settings.data_dir.resolve()
        if assignment.data == "fashion-mnist" and not has_fashion_mnist(root):
            raise UsageError(
                f"{root} has no FashionMNIST/raw/ files; point --data-dir at the folder that "
                "holds FashionMNIST/, or omit it to use a small synthetic set"
            )
        return root, is_synthetic(root)
    root = settings.cache_dir / "data" / "fashion-mnist-synthetic"
    if not has_fashion_mnist(root):
        write_fashion_mnist(root)
    return root, True


async def prepare(
    assignment: Assignment, settings: Settings, *, allow_broken_reference: bool = False
) -> Prepared:
    data, synthetic = resolve_data(assignment, settings)
    _fail_early(assignment)
    device, gpus = resolve_device(assignment, settings.device)
    protect(assignment.root, assignment.reference_dir, settings.cache_dir)
    Cgroup.sweep()
    if bundle.is_bundle(assignment.root):  # a student bundle: public checks, stored results
        suite, bundle_seeds = bundle.load_bundle_checks(assignment.root)
        known, known_results = bundle.load_bundle_mistakes(assignment.root)
        return _with_kernels(_with_signatures(Prepared(
            assignment, suite, bundle.load_expected(assignment.root),
            get_sandbox(settings.sandbox, assignment.python), settings, data, synthetic,
            bundle_seeds,
            device, gpus, gpu_names(gpus), mistakes=known, mistake_results=known_results,
        )))  # fmt: skip
    full = assignment.load_checks()
    suite = full.public() if settings.public_only else full
    if assignment.reference_dir is None:
        raise AssignmentError(
            f"no reference for {assignment.name!r} (expected reference/{assignment.name}/)"
        )
    sandbox = get_sandbox(settings.sandbox, assignment.python)
    kernels, kernels_note = choose_kernels(
        settings.kernels, sandbox, assignment.limits, data, assignment.heavy_imports
    )
    prepared = _with_signatures(Prepared(
        assignment, suite, {}, sandbox, settings, data, synthetic, seeds(assignment, full),
        device, gpus, gpu_names(gpus), kernels=kernels, kernels_note=kernels_note,
    ))  # fmt: skip
    prepared.mistakes = load_mistakes(assignment.mistakes_path, suite)
    prepared.reference, prepared.mistake_results = await _trusted_results(prepared, full)
    broken = reference_failures(prepared.reference)
    if broken and not allow_broken_reference:
        first = prepared.reference[broken[0]]
        why = (first.error or {}).get("message", "") or first.note
        raise AssignmentError(
            f"the reference fails {len(broken)} check(s), e.g. {broken[0]!r} "
            f"({first.kind}: {why}); run `grader verify {assignment.name}`"
        )
    return prepared


def trusted_kernels(p: Prepared) -> TrustedKernels:
    """Where the reference and the mistakes run: on this run's zygote when its students get
    forked kernels (see reference.TrustedKernels), else a fresh unsandboxed kernel each."""
    if isinstance(p.kernels, ZygoteProvider) and not p.kernels.broken:
        return TrustedKernels(p.sandbox, p.kernels, p.settings.jobs)
    return TrustedKernels(jobs=p.settings.jobs)


async def _trusted_results(p: Prepared, full: CheckSuite) -> tuple[dict[str, ProbeResult], Results]:
    """The reference's results and the known mistakes', computed side by side (cached). The
    reference always runs on the CPU: students' CUDA results must agree with it within the
    checks' tolerances, which is what grading on a GPU promises; the mistakes too."""
    a, cache, trusted = p.assignment, p.settings.cache_dir, trusted_kernels(p)
    ref, mis = await asyncio.gather(
        reference_results(a, full, cache_dir=cache, device="cpu", data=p.data, trusted=trusted),
        mistake_results(
            a, p.suite, p.mistakes, p.seeds, cache_dir=cache, key=cache_key(a, "cpu"),
            device="cpu", data=p.data, trusted=trusted,
        ),
        return_exceptions=True,
    )  # fmt: skip
    for outcome in (ref, mis):  # the reference's failure first: a mistake's may follow from it
        if isinstance(outcome, BaseException):
            raise outcome
    assert not isinstance(ref, BaseException) and not isinstance(mis, BaseException)
    return ref, mis


def _fail_early(assignment: Assignment) -> None:
    """Errors that would otherwise come once per kernel or per submission come now: a bad
    GRADER_KERNEL_THREADS, a data/ folder over its cap."""
    numerics_env()
    assignment.data_files  # noqa: B018


def _with_kernels(p: Prepared) -> Prepared:
    """The kernel provider the settings and this machine allow (``--kernels``)."""
    a = p.assignment
    p.kernels, p.kernels_note = choose_kernels(
        p.settings.kernels, p.sandbox, a.limits, p.data, a.heavy_imports
    )
    return p


def _with_signatures(p: Prepared) -> Prepared:
    """The stubs' signatures from the template, for messages about calls that do not fit."""
    try:
        p.signatures = notebook.signatures(p.assignment.template.read_bytes(), p.assignment.stubs)
    except OSError:
        pass  # no template: messages just go without the signature
    return p
