"""Sandbox backends: how a kernel's command line is wrapped before it is started.

``bwrap``: bubblewrap. No network (not even the host's loopback), a read-only system and
Python environment, a private writable work dir with only the submission, a private /tmp,
read-only data, an unprivileged uid, a new session and pid namespace, rlimits, and a
memory/pids cgroup where the machine lets us create one. ``none``: the kernel runs as the
harness's user with a scrubbed environment; only for trusted code or where bubblewrap does
not exist (a student's own laptop). See SECURITY.md for what each guarantees.
"""

from __future__ import annotations

import os
import shutil
import site
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SandboxError, UsageError
from ..spec.assignment import Limits, search_roots
from ..spec.environment import HARNESS, KernelPython
from .cgroups import Cgroup
from .numerics import numerics_env

WORK_MOUNT = "/submission"
ZYGOTE_SCRIPT = "/opt/grader-zygote/zygote_child.py"
DATA_MOUNT = "/data"
NOBODY = 65534


@dataclass(frozen=True)
class SandboxSpec:
    work: Path  # host folder holding only this submission (read-write for the kernel)
    runtime: Path  # host folder for the connection file and ipc sockets
    data: Path | None  # read-only data the assignment declares
    limits: Limits
    gpu: str | None = None  # the one GPU index the kernel may see (None: no GPU at all)


def gpu_devices() -> list[str]:
    """Indices of the NVIDIA GPUs this machine has (from /dev/nvidiaN), without importing torch."""
    return sorted(
        (p.name.removeprefix("nvidia") for p in Path("/dev").glob("nvidia[0-9]*")), key=int
    )


def gpu_nodes(index: str) -> list[str]:
    """The device nodes a CUDA kernel needs for GPU ``index``, and nothing of the others."""
    nodes = [f"/dev/nvidia{index}", "/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools",
             "/dev/nvidia-modeset"]  # fmt: skip
    caps = Path("/dev/nvidia-caps")
    out = [n for n in nodes if Path(n).exists()]
    if caps.is_dir():
        out.append(str(caps))
    return out


def chown_tree(folder: Path, uid: int) -> None:
    """``folder`` and everything in it belong to ``uid`` (the kernel's); links are not
    followed."""
    os.chown(folder, uid, uid)
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


_protected: set[Path] = set()


def protect(*paths: Path | None) -> None:
    """Register folders that no kernel may see through its Python or library path: the
    assignment, its reference, the reference cache, the submissions, the reports."""
    _protected.update(p.resolve() for p in paths if p is not None)


def _overlaps(a: Path, b: Path) -> bool:
    return a == b or a in b.parents or b in a.parents


def _shareable(entries: list[str]) -> tuple[list[str], list[str]]:
    """Existing folders of a search path that overlap no protected folder (and no place
    assignments are looked for), and those that do (kept from the kernel)."""
    protected = {*_protected, *(r.resolve() for r in search_roots())}
    kept: list[str] = []
    dropped: list[str] = []
    for entry in entries:
        if not entry or not os.path.isabs(entry) or not Path(entry).is_dir():
            continue
        path = Path(entry).resolve()
        if any(_overlaps(path, secret) for secret in protected):
            dropped.append(str(path))
        elif str(path) not in kept:
            kept.append(str(path))
    return kept, dropped


def python_path() -> tuple[list[str], list[str]]:
    """Where the harness's Python finds packages outside its own prefixes (``--user``
    installs, $PYTHONPATH): the kernel needs the same packages, so it gets these folders
    read-only on its own PYTHONPATH. A $PYTHONPATH entry that holds (or lies inside) a
    protected folder is dropped: a checkout on PYTHONPATH holds the reference. Returns
    (shown, dropped)."""
    entries = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    user = site.getusersitepackages() if site.ENABLE_USER_SITE else ""
    shown, dropped = _shareable(entries)
    if user and user in sys.path and Path(user).is_dir() and user not in shown:
        shown.append(user)  # a package folder by construction, even under a protected home
    return shown, dropped


def _shown(python: KernelPython) -> list[str]:
    """The harness's package folders outside its prefixes, for kernels that run the harness's
    own Python (another interpreter has its own)."""
    return python_path()[0] if python.is_harness else []


def library_path() -> list[str]:
    """$LD_LIBRARY_PATH's folders, for CUDA kernels: container images often put the NVIDIA
    driver's libraries (libcuda.so) there instead of in the loader's cache."""
    return _shareable(os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep))[0]


def kernel_env(home: str, data: str | None, python: KernelPython = HARNESS) -> dict[str, str]:
    """The whole environment the kernel gets: nothing of the host's but its package path
    (the harness's $PYTHONPATH and --user folders only where kernels run the harness's Python)."""
    env = {
        "PATH": f"{python.bin_dir}:/usr/bin:/bin",
        "HOME": home,
        "USER": "student",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
        "IPYTHONDIR": "/tmp/.ipython",
        "MPLCONFIGDIR": "/tmp/.matplotlib",
        "JPY_PARENT_PID": "1",
        **numerics_env(),  # threads (one per kernel) and torch's CPU kernels, on purpose
    }
    if data is not None:
        env["GRADER_DATA_DIR"] = data
    if shown := _shown(python):
        env["PYTHONPATH"] = os.pathsep.join(shown)
    return env


class Sandbox(ABC):
    """Wraps the kernel's argv; owns nothing itself (the executor owns the resources)."""

    name: str
    uid: int | None = None  # the host uid the kernel runs as, when it differs from ours
    work_mount: str
    python: KernelPython = HARNESS  # the interpreter kernels run in (the assignment's)

    @abstractmethod
    def wrap(self, argv: list[str], spec: SandboxSpec, cgroup: Cgroup | None) -> list[str]: ...

    def data_path(self, spec: SandboxSpec) -> str | None:
        return str(spec.data) if spec.data else None

    def env(self, spec: SandboxSpec) -> dict[str, str]:
        return with_gpu(kernel_env(self.work_mount, self.data_path(spec), self.python), spec)

    def uses_cgroups(self) -> bool:
        return False

    def describe(self) -> str:
        return self.name


def with_gpu(env: dict[str, str], spec: SandboxSpec) -> dict[str, str]:
    # Pinned to one GPU; with none, CUDA sees nothing even if device nodes leaked in.
    env["CUDA_VISIBLE_DEVICES"] = spec.gpu if spec.gpu is not None else ""
    if spec.gpu is not None and (libs := library_path()):
        env["LD_LIBRARY_PATH"] = os.pathsep.join(libs)
    return env


# What an ipykernel with torch's CUDA build has reserved (not used) before any student code:
# RLIMIT_AS counts reservations, so it can only be "the budget plus this" (see SECURITY.md).
AS_BASELINE_MB = 4096


def _rlimits(limits: Limits, address_space: bool = False) -> list[str]:
    mb = 1024 * 1024
    cpu = int(limits.submission_timeout * 2) + 60  # a backstop; wall time is enforced outside
    extra = [f"--as={(limits.memory_mb + AS_BASELINE_MB) * mb}"] if address_space else []
    return [
        "prlimit",
        f"--fsize={limits.max_file_mb * mb}",
        f"--cpu={cpu}",
        "--core=0",
        *extra,
        "--",
    ]


class NoSandbox(Sandbox):
    """Trusted code only: no isolation, but a scrubbed environment and file-size limits."""

    name = "none"

    def __init__(self, python: KernelPython = HARNESS) -> None:
        self.work_mount = ""
        self.python = python

    def env(self, spec: SandboxSpec) -> dict[str, str]:
        env = kernel_env(str(spec.work), self.data_path(spec), self.python)
        env["IPYTHONDIR"] = str(spec.runtime / "ipython")
        env["MPLCONFIGDIR"] = str(spec.runtime / "mpl")
        return with_gpu(env, spec)

    def wrap(self, argv: list[str], spec: SandboxSpec, cgroup: Cgroup | None) -> list[str]:
        prefix = _rlimits(spec.limits) if shutil.which("prlimit") else []
        return prefix + argv


class Bubblewrap(Sandbox):
    """bubblewrap. As root: the kernel drops to uid 65534 inside with setpriv (so RLIMIT_NPROC
    and file ownership are real); as another user: an unprivileged user namespace."""

    name = "bwrap"

    def __init__(self, bwrap: str, python: KernelPython = HARNESS) -> None:
        self.bwrap = bwrap
        self.python = python
        self.work_mount = WORK_MOUNT
        self.rootful = os.geteuid() == 0
        self.uid = NOBODY if self.rootful else None
        if self.rootful and not shutil.which("setpriv"):
            raise SandboxError("bubblewrap as root needs setpriv (Debian package util-linux)")

    def describe(self) -> str:
        mode = "uid 65534 via setpriv" if self.rootful else "user namespace"
        return f"bwrap ({mode})"

    def uses_cgroups(self) -> bool:
        return self.rootful

    def data_path(self, spec: SandboxSpec) -> str | None:
        return DATA_MOUNT if spec.data else None

    def wrap(
        self, argv: list[str], spec: SandboxSpec, cgroup: Cgroup | None, zygote: Any = None
    ) -> list[str]:
        """The kernel's command line; ``zygote`` (a :class:`graders.kernel.zygote.ZygoteMounts`):
        the line of a zygote that forks kernels instead (see that module). bwrap applies its
        options in order: the private /tmp comes before anything bound below it."""
        if zygote is not None and not self.rootful:
            raise SandboxError("a zygote needs bubblewrap as root")
        ro = sorted({*self.python.prefixes, *_shown(self.python)}, key=len)
        if spec.gpu is not None:  # where the loader finds the driver's libcuda.so
            ro += [p for p in library_path() if p not in ro]
        return [
            *self._namespaces(spec, cgroup, zygote),
            *self._system(spec, ro, zygote),
            *(self._gpu(spec.gpu) if spec.gpu is not None else []),
            *self._work(spec),
            *(self._zygote(zygote) if zygote is not None else []),
            *self._drop_privileges(spec, cgroup, zygote),
            *argv,
        ]

    def _namespaces(self, spec: SandboxSpec, cgroup: Cgroup | None, zygote: Any) -> list[str]:
        """bwrap itself (in the cgroup), its capabilities, namespaces and environment."""
        cmd = ["env", "-i", *(cgroup.join_prefix() if cgroup else []), self.bwrap]
        if self.rootful:
            cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
            cmd += ["--cap-add", "CAP_SETPCAP"]
            if zygote is not None:  # for the root pre-step below only; setpriv drops it
                cmd += ["--cap-add", "CAP_SYS_ADMIN"]
        else:
            cmd += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
        cmd += [
            "--unshare-net", "--unshare-ipc", "--unshare-pid", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session",
            "--hostname", "sandbox", "--clearenv",
        ]  # fmt: skip
        env = {**self.env(spec), **(zygote.env if zygote is not None else {})}
        for key, value in env.items():
            cmd += ["--setenv", key, value]
        return cmd

    def _system(self, spec: SandboxSpec, ro: list[str], zygote: Any) -> list[str]:
        """/tmp, the read-only system and Python, the kernel's user, /proc and /dev."""
        passwd, group = spec.runtime / "passwd", spec.runtime / "group"
        kid = NOBODY if zygote is None else 1000  # a forked kernel is uid 1000 in its userns
        nobody = f"nobody:x:{NOBODY}:{NOBODY}:nobody:/nonexistent:/usr/sbin/nologin\n"
        passwd.write_text(
            f"student:x:{kid}:{kid}:student:{WORK_MOUNT}:/bin/sh\n" + (nobody if zygote else "")
        )
        group.write_text(f"student:x:{kid}:\n" + (f"nogroup:x:{NOBODY}:\n" if zygote else ""))
        tmp_bytes = spec.limits.tmp_mb * 1024 * 1024
        # The private /tmp first: binds below it (the ipc folder) must land on top of it.
        cmd = ["--size", str(tmp_bytes), "--perms", "1777", "--tmpfs", "/tmp"]
        cmd += ["--ro-bind", "/usr", "/usr"]
        for link in ("lib", "lib64", "bin", "sbin"):
            if Path(f"/usr/{link}").exists():
                cmd += ["--symlink", f"usr/{link}", f"/{link}"]
        # bwrap makes missing parents root:0700, which uid 65534 cannot traverse.
        parents: set[str] = {"/etc"}
        for target in [*ro, str(spec.runtime), WORK_MOUNT]:
            for parent in Path(target).parents:
                if str(parent) not in ("/", "/tmp", "/usr") and not str(parent).startswith("/usr/"):
                    parents.add(str(parent))
        for d in sorted(parents, key=lambda p: (p.count("/"), p)):
            cmd += ["--perms", "0755", "--dir", d]
        for path in ro:
            cmd += ["--ro-bind", path, path]
        cmd += ["--ro-bind", str(passwd), "/etc/passwd", "--ro-bind", str(group), "/etc/group"]
        if Path("/etc/fonts").is_dir():  # matplotlib's fontconfig; system config, read-only
            cmd += ["--ro-bind", "/etc/fonts", "/etc/fonts"]
        cmd += ["--proc", "/proc", "--dev", "/dev"]  # a fresh /proc: CUDA needs it (error 304)
        return cmd

    @staticmethod
    def _gpu(index: str) -> list[str]:
        """Only when grading on CUDA: this GPU's device nodes, /sys and the loader's files."""
        cmd = []
        for node in gpu_nodes(index):
            cmd += ["--dev-bind", node, node]
        cmd += ["--ro-bind", "/sys", "/sys"]
        # The loader's cache and config: how it finds libcuda.so outside /usr/lib.
        for f in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d"):
            if Path(f).exists():
                cmd += ["--ro-bind", f, f]
        return cmd

    @staticmethod
    def _work(spec: SandboxSpec) -> list[str]:
        """/dev/shm, the work dir with the submission's files, the runtime folder, the data."""
        tmp_bytes = spec.limits.tmp_mb * 1024 * 1024
        cmd = ["--size", str(tmp_bytes), "--perms", "1777", "--tmpfs", "/dev/shm"]
        # The work dir is a size-capped tmpfs (disk use is limited, and charged to the memory
        # cgroup); the submission's own files are bound into it read-only.
        work_bytes = spec.limits.work_mb * 1024 * 1024
        cmd += ["--size", str(work_bytes), "--perms", "1777", "--tmpfs", WORK_MOUNT]
        for root, dirs, files in os.walk(spec.work):
            rel = Path(root).relative_to(spec.work)
            for d in dirs:
                cmd += ["--perms", "0755", "--dir", f"{WORK_MOUNT}/{rel / d}"]
            for f in files:
                cmd += ["--ro-bind", str(Path(root) / f), f"{WORK_MOUNT}/{rel / f}"]
        cmd += ["--bind", str(spec.runtime), str(spec.runtime)]
        if spec.data is not None:
            cmd += ["--ro-bind", str(spec.data), DATA_MOUNT]
        return cmd

    @staticmethod
    def _zygote(zygote: Any) -> list[str]:
        """Every kernel's folders, and the zygote's program."""
        mount = Path(ZYGOTE_SCRIPT)
        cmd = ["--bind", str(zygote.slots), str(zygote.slots)]
        cmd += ["--perms", "0755", "--dir", str(mount.parent.parent)]
        cmd += ["--perms", "0755", "--dir", str(mount.parent)]
        cmd += ["--ro-bind", str(zygote.script), str(mount)]
        return cmd

    def _drop_privileges(self, spec: SandboxSpec, cgroup: Cgroup | None, zygote: Any) -> list[str]:
        """Read-only root, then (as root) setpriv to uid 65534 with no capabilities, then
        the rlimits."""
        cmd = ["--remount-ro", "/", "--chdir", WORK_MOUNT, "--"]
        if zygote is not None:
            # bwrap covers /proc/irq and /proc/bus read-only; in a nested user namespace those
            # covers are locked, and a locked cover makes the kernel refuse a fresh procfs
            cmd += ["/bin/sh", "-c", 'umount /proc/irq && umount /proc/bus && exec "$@"', "sh"]
        if self.rootful:
            cmd += [
                "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
            ]  # fmt: skip
        # Without a memory cgroup, RLIMIT_AS is the fallback (never on CUDA: the driver
        # reserves far more address space than it uses).
        return cmd + _rlimits(spec.limits, address_space=cgroup is None and spec.gpu is None)


def available_backends() -> list[str]:
    return ["bwrap", "none"] if shutil.which("bwrap") else ["none"]


def get_sandbox(name: str, python: KernelPython = HARNESS) -> Sandbox:
    """``auto``: bwrap where it exists, else none (and the report says so); kernels run in
    ``python``."""
    if name == "auto":
        name = "bwrap" if shutil.which("bwrap") else "none"
    if name == "none":
        return NoSandbox(python)
    if name == "bwrap":
        path = shutil.which("bwrap")
        if path is None:
            raise UsageError(
                "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap); "
                "use --sandbox none only for trusted code"
            )
        return Bubblewrap(path, python)
    raise UsageError(f"unknown sandbox {name!r}; choose bwrap, none or auto")
