"""The Python that runs an assignment's kernels: the harness's own, or the course's.

By default kernels run in the harness's environment (its venv), so a course's packages are
installed beside the harness (``pip install 'graders[course]'``). An assignment may name its own
environment instead, in ``assignment.toml``::

    [environment]
    python = "/opt/ml-course/.venv/bin/python"   # an interpreter (absolute, or relative to
                                                 # the assignment folder), or:
    kernelspec = "ml-course"                     # a Jupyter kernelspec's interpreter

That interpreter then runs every kernel: the students', the reference's and the known
mistakes', fresh or forked from a zygote; the sandbox binds its prefixes read-only instead of
the harness's. It needs ipykernel (the harness checks once, before any kernel starts) and
the course's packages; the harness needs none of them.
"""

from __future__ import annotations

import functools
import json
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import AssignmentError

# Read by the interpreter under test: where it lives, and whether it can run a kernel.
_PROBE = (
    "import importlib.metadata as m, importlib.util, json, platform, sys\n"
    "def v(p):\n"
    "    try:\n"
    "        return m.version(p)\n"
    "    except m.PackageNotFoundError:\n"
    "        return ''\n"
    "print(json.dumps({'prefixes': [sys.prefix, sys.base_prefix], "
    "'version': platform.python_version(), "
    "'packages': {p: v(p) for p in ('numpy', 'torch', 'torchvision', 'scikit-learn')}, "
    "'ipykernel': importlib.util.find_spec('ipykernel') is not None}))"
)


@dataclass(frozen=True)
class KernelPython:
    """An interpreter that kernels run in, and the folders the sandbox must show for it."""

    executable: str
    prefixes: tuple[str, ...]
    version: str
    # versions that can change a result (the reference cache key); the harness's own are
    # in reference.library_versions()
    packages: tuple[tuple[str, str], ...] = ()

    @property
    def is_harness(self) -> bool:
        return self.executable == sys.executable

    @property
    def bin_dir(self) -> str:
        return str(Path(self.executable).parent)

    def describe(self) -> str:
        return "the harness's Python" if self.is_harness else f"{self.executable} ({self.version})"


HARNESS = KernelPython(
    sys.executable, tuple(dict.fromkeys((sys.prefix, sys.base_prefix))), platform.python_version()
)


@functools.lru_cache(maxsize=8)
def probe(executable: str) -> KernelPython:
    """Ask an interpreter where it lives; an error an instructor can act on when it cannot
    run kernels."""
    try:
        proc = subprocess.run(
            [executable, "-c", _PROBE], capture_output=True, text=True, timeout=60
        )
    except OSError as exc:
        raise AssignmentError(f"the assignment's Python {executable} cannot run: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise AssignmentError(f"the assignment's Python {executable} did not answer") from exc
    if proc.returncode != 0:
        raise AssignmentError(
            f"the assignment's Python {executable} failed: {proc.stderr.strip()[-500:]}"
        )
    lines = proc.stdout.strip().splitlines()
    if not lines:
        raise AssignmentError(f"the assignment's Python {executable} printed nothing: not Python?")
    info = json.loads(lines[-1])
    if not info["ipykernel"]:
        raise AssignmentError(
            f"the assignment's Python {executable} has no ipykernel, so no kernel can start "
            f"there: {executable} -m pip install ipykernel"
        )
    prefixes = tuple(dict.fromkeys(str(p) for p in info["prefixes"]))
    packages = tuple(sorted((str(k), str(v)) for k, v in info["packages"].items()))
    return KernelPython(executable, prefixes, str(info["version"]), packages)


def _from_kernelspec(name: str) -> str:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel as exc:
        raise AssignmentError(
            f"no Jupyter kernelspec named {name!r} (`jupyter kernelspec list` shows them)"
        ) from exc
    if not spec.argv or spec.language.lower() != "python":
        raise AssignmentError(f"kernelspec {name!r} is not a Python kernel")
    return str(spec.argv[0])


def resolve(table: dict[str, object], root: Path) -> KernelPython:
    """The ``[environment]`` table of an assignment (folder ``root``)."""
    unknown = set(table) - {"python", "kernelspec"}
    if unknown or len(table) > 1:
        raise AssignmentError(
            f"{root / 'assignment.toml'}: [environment] takes one of python = PATH or "
            f"kernelspec = NAME{f', not {sorted(unknown)}' if unknown else ''}"
        )
    if not table:
        return HARNESS
    if "kernelspec" in table:
        executable = _from_kernelspec(str(table["kernelspec"]))
    else:
        path = Path(str(table["python"])).expanduser()
        executable = str(path if path.is_absolute() else (root / path))
    if executable == sys.executable:
        return HARNESS
    return probe(executable)


def unimportable(python: KernelPython, modules: tuple[str, ...]) -> list[str]:
    """The modules (``heavy_imports``) that the kernels' Python cannot find, asked once."""
    if not modules:
        return []
    code = (
        "import importlib.util, sys\n"
        "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))"
    )
    proc = subprocess.run(
        [python.executable, "-c", code, *modules], capture_output=True, text=True, timeout=120
    )
    return proc.stdout.split() if proc.returncode == 0 else list(modules)
