"""What the zygote needs from the host's kernel: a host uid per forked kernel (held
through lock files, across grading runs), the sender's pid of a message (SCM_CREDENTIALS:
the sender cannot forge it), and a handle on a process that is not our child (a pidfd)."""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import socket
import struct
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

from ..errors import SandboxError

# Host uids for kernels, one per live kernel: above systemd's container range and below 2^31,
# so that no real user or container has them. GRADER_ZYGOTE_UIDS=first:count changes it.
UIDS = os.environ.get("GRADER_ZYGOTE_UIDS", "2100000000:65536")


class UidPool:
    """Host uids for kernels; a uid is held through a lock file, so that two grading runs on
    one machine never give two kernels the same uid."""

    def __init__(self) -> None:
        first, _, count = UIDS.partition(":")
        self.first, self.count = int(first), int(count or 65536)
        base = Path("/run") if os.access("/run", os.W_OK) else Path(tempfile.gettempdir())
        self.dir = base / "grader-uids"
        self.dir.mkdir(mode=0o700, exist_ok=True)
        self.held: dict[int, IO[bytes]] = {}
        self.next = 0
        self.lock = threading.Lock()

    def take(self) -> int:
        with self.lock:
            for _ in range(self.count):
                uid = self.first + self.next % self.count
                self.next += 1
                if uid in self.held:
                    continue
                f = (self.dir / str(uid)).open("wb")
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    f.close()
                    continue
                self.held[uid] = f
                return uid
        raise SandboxError("no free host uid for a kernel (GRADER_ZYGOTE_UIDS)")

    def give(self, uid: int) -> None:
        with self.lock:
            f = self.held.pop(uid, None)
        if f is not None:
            f.close()


def message(raw: bytes) -> dict[str, Any]:
    """A message from the zygote or a child: a JSON object, or {} for anything else."""
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def recv_cred(sock: socket.socket) -> tuple[dict[str, Any], int]:
    """One message, and its sender's pid as the kernel translated it into our namespace."""
    msg, ancillary, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(12))
    pid = -1
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("3i", data[:12])[0]
    return message(msg), pid


class HostProcess:
    """A Popen-like handle on a kernel's pid 1, which is not our child, through a pidfd."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.fd = os.pidfd_open(pid)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            ready, _, _ = select.select([self.fd], [], [], 0)
            if ready:
                self.returncode = -signal.SIGKILL  # not our child: its status is not ours
                os.close(self.fd)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            select.select([self.fd], [], [], timeout)
        rc = self.poll()
        if rc is None:
            raise subprocess.TimeoutExpired("kernel", timeout or 0)
        return rc

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            signal.pidfd_send_signal(self.fd, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)
