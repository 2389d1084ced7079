"""Grading on a Dask distributed cluster: one task per submission.

The client prepares once (the reference results, the checks) and scatters that to every
worker; each task grades one submission in a sandboxed kernel on its worker and returns the
report; the client writes each report as it arrives, so a run killed halfway keeps every
finished result. Workers need the project installed (the same version), bubblewrap, and the
assignment and ``--data-dir`` at the same paths as the client (a shared filesystem).
Dask moves data between the client and its workers with pickle: that channel is between
trusted machines; the student's code only ever runs inside a worker's sandbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ..errors import KernelHostLost, UsageError
from ..intake.discover import Submission
from ..verdict.model import Event, EventKind, Report
from .data import has_fashion_mnist, write_fashion_mnist
from .pipeline import error_report, grade_submission
from .prepare import Prepared


def _grade_on_worker(p: Prepared, sub: Submission) -> Report:
    """One task: ``p.kernels`` is this worker's own zygote (or fresh kernels where none can
    run, see zygote.worker_provider). A zygote that dies under a submission costs a regrade on
    a new one, as in a local run; the report says so."""
    if p.synthetic_data and p.data is not None and not has_fashion_mnist(p.data):
        write_fashion_mnist(p.data)  # a worker on another machine makes its own copy
    try:
        return asyncio.run(grade_submission(p, sub))
    except KernelHostLost as exc:
        report = asyncio.run(grade_submission(p, sub))
        report.events.insert(
            0, Event(EventKind.GRADED_AGAIN, f"{exc}; graded again from the start")
        )
        return report


def grade_on_cluster(
    address: Any,
    p: Prepared,
    subs: list[Submission],
    on_done: Callable[[Report], None],
    skip: Callable[[Submission], bool] = lambda s: False,
) -> list[Report]:
    """Grade ``subs`` on the cluster at ``address`` (a scheduler address or a Cluster)."""
    try:
        from distributed import Client, as_completed

        from .cluster_plugin import WorkerZygotes
    except ImportError:
        raise UsageError(
            "--cluster needs dask.distributed: pip install 'graders[cluster]'"
        ) from None
    try:
        client = Client(address, timeout="30s")
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    reports: list[Report] = []
    with client:
        client.register_plugin(WorkerZygotes(), name=WorkerZygotes.name)
        shared = client.scatter(p, broadcast=True)
        todo = [s for s in subs if not skip(s)]
        futures = {
            client.submit(_grade_on_worker, shared, s, key=f"grade-{s.id}-{s.sha256[:12]}",
                          pure=False): s
            for s in todo
        }  # fmt: skip
        for fut in as_completed(futures):
            sub = futures[fut]
            try:
                report = fut.result()
            except Exception as exc:  # a worker died or raised: that submission errors, not the run
                report = error_report(p, sub, f"cluster task failed: {type(exc).__name__}: {exc}")
            reports.append(report)
            on_done(report)
    return reports
