"""A Dask worker's zygotes: the run's settings arrive pickled (ZygoteProvider.__reduce__ sends
its recipe, not its processes) and each worker process keeps a provider of its own for them."""

from __future__ import annotations

import asyncio
import atexit
import threading
from pathlib import Path

from ..sandbox.bwrap import Bubblewrap
from ..spec.assignment import Limits
from .providers import KernelProvider
from .zygote import ZygoteProvider, zygote_unavailable

# A Dask worker process's providers, one per recipe: started on first use, a new zygote when
# one dies (ZygoteProvider._slots), stopped with the worker (close_worker_providers).
_WORKER: dict[str, KernelProvider] = {}


def worker_provider(
    sandbox: Bubblewrap, limits: Limits, data: Path | None, preload: tuple[str, ...]
) -> KernelProvider:
    """This process's provider for a run's settings, as a Dask worker unpickles them: a
    zygote of its own where one can run, else fresh kernels (a non-root Slurm job, say),
    which the reports then name."""
    key = repr((sandbox.bwrap, sandbox.python, limits, data, preload))
    if key not in _WORKER:
        why = zygote_unavailable(sandbox)
        _WORKER[key] = (
            KernelProvider() if why else ZygoteProvider(sandbox, limits, data, preload, True)
        )
    return _WORKER[key]


@atexit.register  # a worker that is killed rather than closed: its zygotes stop too
def close_worker_providers() -> None:
    """Stop this process's worker zygotes (the Dask plugin's teardown, and at exit)."""
    providers = list(_WORKER.values())
    _WORKER.clear()
    if not providers:  # not a worker, or closed already
        return

    async def close() -> None:
        for provider in providers:
            await provider.close()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(close())
        return
    done = threading.Thread(target=asyncio.run, args=(close(),))  # not in the worker's loop
    done.start()
    done.join(timeout=60)
