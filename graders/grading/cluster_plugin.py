"""The Dask worker plugin of a cluster run (imported only where dask.distributed is)."""

from __future__ import annotations

from typing import Any

from distributed import WorkerPlugin

from ..kernel.worker_zygotes import close_worker_providers


class WorkerZygotes(WorkerPlugin):  # type: ignore[misc]  # distributed is untyped
    """Each worker keeps a zygote per run's settings (zygote.worker_provider), started by its
    first task; this stops them when the worker closes."""

    name = "grader-zygotes"

    def teardown(self, worker: Any) -> None:
        close_worker_providers()
