"""What the harness sends into a kernel as it starts (the in-kernel runtime, the GPU cap), and
what to do when a kernel does not start."""

from __future__ import annotations

from pathlib import Path

RUNTIME_SOURCE = (Path(__file__).parent.parent / "inside" / "runtime.py").read_text()
PRELUDE = (
    "import types as _grader_types\n"
    "_grader_mod = _grader_types.ModuleType('grader_runtime')\n"
    f"exec(compile({RUNTIME_SOURCE!r}, '<grader-runtime>', 'exec'), _grader_mod.__dict__)\n"
    "_grader_mod.install(globals())\n"
    "del _grader_types, _grader_mod\n"
)


def gpu_cap_code(mb: int) -> str:
    """Kernel code capping torch's CUDA allocator at ``mb`` MB of the (one) visible GPU."""
    return (
        "try:\n    import torch as _t\n    if _t.cuda.is_available():\n"
        f"        _total = _t.cuda.get_device_properties(0).total_memory\n"
        f"        _t.cuda.set_per_process_memory_fraction(min(1.0, {mb} * 2**20 / _total), 0)\n"
        "    del _t\nexcept Exception:\n    pass\n"
    )


def start_hint(log: str) -> str:
    """What to do about the usual reasons a sandboxed kernel cannot start."""
    if "ipykernel_launcher" in log or "No module named" in log:
        return (
            "The kernel's Python lacks a package: install the grader and its dependencies in "
            "the environment that runs it (a venv, or $PYTHONPATH folders, which kernels see "
            "read-only)"
        )
    userns = ("namespace", "uid map", "Operation not permitted")
    if "bwrap" in log and any(words in log for words in userns):
        return (
            "bubblewrap may not create namespaces here: unprivileged user namespaces are off "
            "(Ubuntu 24.04: sysctl kernel.apparmor_restrict_unprivileged_userns=1, or "
            "user.max_user_namespaces=0). Grade as root, allow them, or use --sandbox none for "
            "trusted code only"
        )
    return ""
