"""The zygote: a pre-imported Python that forks one sandboxed kernel per submission.

This file runs INSIDE the zygote's bubblewrap sandbox (see :mod:`graders.kernel.zygote` for how it
is started); it imports nothing of the harness. It imports the assignment's heavy modules once,
then serves one request per kernel from the harness. For each it forks a child that builds its
own sandbox before any student code exists:

``C`` (forked from the zygote)
    unshare user, mount, pid, net, ipc and uts namespaces; send "hello": the harness reads C's
    host pid from the kernel (SCM_CREDENTIALS), maps uid 1000 here to a host uid of this child
    alone, chowns its folders and moves C into the submission's cgroup, then answers "go".
    C becomes uid 1000 (its own host uid), unshares the cgroup namespace, joins a fresh
    session keyring, covers /tmp, /dev/shm and the work dir with fresh size-capped tmpfs,
    binds back the read-only mounts that lived under /tmp (a venv), only its own runtime
    folder, and the submission's regular files read-only; forks ``G`` and exits.
``G`` (pid 1 of the new pid namespace)
    a new session, a fresh /proc, the hostname, loopback up, no nested user namespaces,
    every capability dropped; sends "ready" (the harness learns G's host pid), forks ``K``,
    becomes non-dumpable and reaps orphans until K exits.
``K``
    stdout/stderr to the runtime folder's kernel.log, cwd the fresh work dir, every other fd
    closed, numpy and torch reseeded, then an IPKernelApp on the harness's connection file.

The zygote holds no secret: no zmq context, no connection file, no submission. The harness
sends it two folder paths, two sizes and one socket per child.
"""

from __future__ import annotations

import ctypes
import fcntl
import gc
import json
import os
import signal
import socket
import stat
import struct
import sys
import traceback
from typing import Any

CTL_FD = int(os.environ.pop("GRADER_ZYGOTE_FD", "-1"))
PRELOAD = [m for m in os.environ.pop("GRADER_ZYGOTE_PRELOAD", "").split(",") if m]
SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = (
    0x08000000, 0x10000000, 0x20000000, 0x40000000,
)  # fmt: skip
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 4, 24, 47, 4
PR_GET_NO_NEW_PRIVS = 39
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}.get(os.uname().machine, 126)
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine, 250)
KEYCTL_JOIN_SESSION_KEYRING = 1
KID = 1000  # the kernel's uid and gid inside its own user namespace

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
libc.unshare.argtypes = [ctypes.c_int]
libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
libc.syscall.restype = ctypes.c_long


class SetupError(Exception):
    pass


def _check(ret: int, what: str) -> None:
    if ret < 0:
        err = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(err)}")


def _b(s: str | None) -> bytes | None:
    return None if s is None else s.encode()


def mount(src: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    _check(libc.mount(_b(src), _b(target), _b(fstype), flags, _b(data or None)), f"mount {target}")


def unshare(flags: int, what: str) -> None:
    _check(libc.unshare(flags), what)


def drop_capabilities() -> None:
    """Empty the bounding and ambient sets and every capability of this process."""
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for cap in range(last + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable (two words each): 0
    _check(libc.syscall(SYS_CAPSET, header, data), "capset")
    if libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1:
        raise SetupError("no_new_privs is not set")


def loopback_up() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        req = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, 0x8913, req))[1]  # SIOCGIFFLAGS
        fcntl.ioctl(s, 0x8914, struct.pack("16sH22x", b"lo", flags | 1))  # SIOCSIFFLAGS up
    finally:
        s.close()


def read_only_mounts_below(prefix: str) -> list[str]:
    """Read-only mount points strictly below ``prefix`` (the sandbox's venv bind when the venv
    lives under /tmp): they must be bound again above the fresh tmpfs."""
    found = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point, options = fields[4], fields[5].split(",")
            if point.startswith(prefix.rstrip("/") + "/") and "ro" in options:
                found.add(point)
    return sorted(found, key=lambda p: p.count("/"))


def cover_and_bind(req: dict[str, Any]) -> None:
    """Fresh tmpfs over /tmp (which holds every kernel's folders), /dev/shm and the work dir;
    then only this kernel's runtime folder and its own files come back."""
    runtime, work = req["runtime"], req["work"]
    if not (runtime.startswith("/tmp/") and work.startswith("/tmp/")):
        raise SetupError("the kernel's folders must lie under /tmp, which the child covers")
    keep = [(os.open(p, os.O_PATH), p) for p in read_only_mounts_below("/tmp")]
    runtime_fd = os.open(runtime, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW)
    work_fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    fresh = MS_NOSUID | MS_NODEV
    mount("tmpfs", "/tmp", "tmpfs", fresh, f"size={req['tmp_bytes']},mode=1777")
    mount("tmpfs", "/dev/shm", "tmpfs", fresh, f"size={req['tmp_bytes']},mode=1777")
    mount("tmpfs", req["work_mount"], "tmpfs", fresh, f"size={req['work_bytes']},mode=1777")
    ro = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
    for fd, path in keep:
        os.makedirs(path, exist_ok=True)
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        mount(None, path, None, ro)
        os.close(fd)
    os.makedirs(runtime, mode=0o755, exist_ok=True)
    mount(f"/proc/self/fd/{runtime_fd}", runtime, None, MS_BIND)
    mount(None, runtime, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.close(runtime_fd)
    _bind_files(f"/proc/self/fd/{work_fd}", req["work_mount"], ro)
    os.close(work_fd)
    # the invariant everything rests on: no other kernel's folder is reachable any more
    slots = os.path.dirname(os.path.dirname(runtime))
    mine = os.path.basename(os.path.dirname(runtime))
    if os.listdir(slots) != [mine]:
        raise SetupError(f"other kernels' folders are still visible under {slots}")


def _bind_files(src_root: str, dst_root: str, ro: int) -> None:
    """The submission's regular files, each bound read-only; links are never followed."""
    for root, dirs, files in os.walk(src_root):
        rel = os.path.relpath(root, src_root)
        for d in dirs:
            os.makedirs(os.path.join(dst_root, rel, d), exist_ok=True)
        for name in files:
            src = os.open(os.path.join(root, name), os.O_PATH | os.O_NOFOLLOW)
            try:
                if not stat.S_ISREG(os.fstat(src).st_mode):
                    continue
                dst = os.path.normpath(os.path.join(dst_root, rel, name))
                open(dst, "w").close()
                mount(f"/proc/self/fd/{src}", dst, None, MS_BIND)
                mount(None, dst, None, ro)
            finally:
                os.close(src)


def child(req: dict[str, Any], chan: socket.socket) -> None:
    """C, then G, then K. Raises on any failure: the child dies before student code runs."""
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # the harness writes our uid_map
    namespaces = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC
    unshare(namespaces | CLONE_NEWUTS, "unshare")
    chan.send(b'{"stage": "hello"}')
    go = json.loads(chan.recv(4096) or b"{}")
    if not go.get("go"):
        os._exit(3)
    os.setresgid(KID, KID, KID)
    os.setresuid(KID, KID, KID)  # this child's own host uid; caps in its userns remain
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # the uid change cleared it
    unshare(CLONE_NEWCGROUP, "unshare cgroup")  # its root: the submission's cgroup
    libc.syscall(SYS_KEYCTL, KEYCTL_JOIN_SESSION_KEYRING, None)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    cover_and_bind(req)
    if os.fork():
        os._exit(0)  # C is done; G is pid 1 of the new pid namespace
    os.setsid()  # the harness's killpg reaches this kernel only
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    libc.sethostname(b"sandbox", 7)
    loopback_up()
    with open("/proc/sys/user/max_user_namespaces", "w") as f:
        f.write("0")
    drop_capabilities()
    chan.send(b'{"stage": "ready"}')  # the credentials carry G's host pid
    chan.close()
    kernel = os.fork()
    if kernel == 0:
        kernel_main(req)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # the kernel (same uid) may not ptrace pid 1
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        if pid == kernel:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def kernel_main(req: dict[str, Any]) -> None:
    """K: an ipykernel, like ``python -m ipykernel_launcher -f <connection file>``."""
    try:
        log = os.open(os.path.join(req["runtime"], "kernel.log"), os.O_WRONLY | os.O_APPEND)
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.closerange(3, 65536)
        os.chdir(req["work_mount"])
        # A fresh kernel seeds these from the OS; a forked one would share the zygote's state
        # with every other kernel of the run (random reseeds itself after a fork).
        numpy = sys.modules.get("numpy")
        if numpy is not None:
            numpy.random.seed()
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.seed()
        sys.argv = ["ipykernel_launcher", "-f", req["connection_file"]]
        sys.path[:] = [p for p in sys.path if p != SCRIPT_DIR]
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize()
        app.start()
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
    os._exit(1)


# What IPKernelApp.initialize() imports on top of ipykernel.kernelapp (no thread starts).
KERNEL_IMPORTS = (
    "ipykernel.ipkernel", "ipykernel.kernelapp", "ipykernel.zmqshell", "ipykernel.debugger",
    "IPython.core.completerlib", "IPython.core.debugger", "IPython.core.oinspect",
    "IPython.extensions.storemagic", "IPython.utils.wildcard", "sqlite3", "pdb", "http.server",
    "xmlrpc.server", "mimetypes", "encodings.idna", "tornado.gen", "tornado.locks",
    "tornado.queues", "tornado.platform.asyncio",
)  # fmt: skip


def preload() -> list[dict[str, str]]:
    """Import the assignment's modules (best effort, like a fresh kernel's preload); the
    ones that failed, each as {"module", "error"}."""
    failed = []
    for name in [*PRELOAD, *KERNEL_IMPORTS]:
        try:
            __import__(name)
            if name == "matplotlib":
                __import__("matplotlib.pyplot")
        except Exception as exc:
            failed.append({"module": name, "error": f"{type(exc).__name__}: {exc}"})
    torch = sys.modules.get("torch")
    if torch is not None:  # an optimizer's first step imports ~870 modules (torch._dynamo)
        try:
            p = torch.nn.Parameter(torch.zeros(2))
            for opt in (torch.optim.Adam([p], lr=0.1), torch.optim.SGD([p], lr=0.1)):
                p.grad = torch.ones(2)
                opt.step()
        except Exception as exc:
            failed.append({"module": "torch.optim", "error": f"{type(exc).__name__}: {exc}"})
    return failed


def serve(ctl: socket.socket) -> None:
    ctl.settimeout(1.0)
    while True:
        while True:  # reap the Cs that have exited
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        try:
            msg, fds, _, _ = socket.recv_fds(ctl, 65536, 1)
        except TimeoutError:
            continue
        if not msg:
            os._exit(0)  # the harness went away
        req = json.loads(msg)
        pid = os.fork()
        if pid == 0:
            ctl.close()
            chan = socket.socket(fileno=fds[0])
            try:
                child(req, chan)
            except BaseException:
                try:
                    why = traceback.format_exc()[-3000:]
                    chan.send(json.dumps({"stage": "error", "error": why}).encode())
                except OSError:
                    pass
            os._exit(2)
        for fd in fds:
            os.close(fd)


def main() -> None:
    if CTL_FD < 0:
        sys.exit("graders.inside.zygote_child runs inside the zygote's sandbox only")
    failed = preload()
    threads = len(os.listdir("/proc/self/task"))
    ctl = socket.socket(fileno=CTL_FD)
    if threads != 1:  # a thread (an OpenMP pool) at fork time can deadlock the children
        why = f"{threads} threads after the imports; a fork could deadlock"
        ctl.send(json.dumps({"stage": "error", "error": why}).encode())
        os._exit(4)
    gc.collect()
    gc.freeze()  # a child's collections then do not touch (and copy) the zygote's pages
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    ctl.send(json.dumps({"stage": "ready", "failed_imports": failed}).encode())
    serve(ctl)


if __name__ == "__main__":
    main()
