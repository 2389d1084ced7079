"""Kernels forked from a zygote: what one child can do to its siblings and to the zygote (nothing),
and what happens when the zygote dies (its submissions are graded again on a new one).

The hostile suite and the environment tests run against both kernel providers (see
test_hostile.py, test_environment.py); these are the cases only a zygote has."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
from build_template import notebook, write  # type: ignore[import-not-found]
from make_examples import CORRECT  # type: ignore[import-not-found]
from nbformat.v4 import new_code_cell

from graders.grading.execute import KernelSession
from graders.grading.prepare import Settings, prepare
from graders.grading.schedule import grade_many
from graders.intake.discover import load_file
from graders.kernel.zygote import ZygoteProvider, zygote_unavailable
from graders.kernel.zygote_os import UidPool
from graders.sandbox import bwrap as sandbox
from graders.sandbox.bwrap import Bubblewrap
from graders.spec.assignment import Limits, find_assignment
from graders.verdict.model import EventKind, Report
from tests.conftest import GradedRun

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
]


def _bwrap() -> Bubblewrap:
    bwrap = sandbox.get_sandbox("bwrap")
    if why := zygote_unavailable(bwrap):
        pytest.skip(f"no zygote here: {why}")
    assert isinstance(bwrap, Bubblewrap)
    return bwrap


PLANT = """
import json, os
for d in ("/tmp", "/dev/shm", "."):
    with open(os.path.join(d, "a-secret"), "w") as f:
        f.write("A")
uid = [line.split()[1] for line in open("/proc/self/status") if line.startswith("Uid:")][0]
print(json.dumps({"pid": os.getpid(), "uid": uid, "cwd": os.getcwd()}))
"""

ATTACK = """
import ctypes, glob, json, os, signal, subprocess, sys
found = {}
for p in ["/tmp/a-secret", "/dev/shm/a-secret", "/submission/a-secret", A_RUNTIME + "/kernel.json"]:
    found[p] = os.path.exists(p)
found["proc_roots"] = glob.glob("/proc/*/root/tmp/a-secret") + glob.glob("/proc/*/cwd/a-secret")
found["slots"] = sorted(os.listdir(os.path.dirname(os.path.dirname(B_RUNTIME))))
found["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
killed = []
for pid in found["pids"]:
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except OSError as e:
            killed.append(f"{pid}: {type(e).__name__}")
found["killed"] = killed
try:
    os.kill(-1, signal.SIGKILL)
except OSError as e:
    found["kill_all"] = type(e).__name__
os.makedirs(A_RUNTIME, exist_ok=True)  # only in its own fresh /tmp
with open(A_RUNTIME + "/evil", "w") as f:
    f.write("B was here")
libc = ctypes.CDLL(None, use_errno=True)
# a new process (unshare needs one thread): no nested user namespace, no mount namespace
one = "import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); "
for key, flag in (("unshare_user", 0x10000000), ("unshare_ns", 0x00020000)):
    probe = one + f"r = libc.unshare({flag}); print(r or 0, os.strerror(ctypes.get_errno()))"
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    found[key] = ran.stdout.strip()
mounted = libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)
found["mount"] = mounted == 0 or os.strerror(ctypes.get_errno())
print(json.dumps(found))
"""


def _last_json(output: str) -> dict[str, Any]:
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _host_uid(ks: KernelSession) -> int:
    assert ks._km is not None
    pid = ks._km.provisioner.pid
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


RANDOM = (
    "import random, numpy, torch\nprint(random.random(), numpy.random.rand(), torch.rand(1).item())"
)


def test_a_child_reaches_neither_its_sibling_nor_the_zygote() -> None:
    provider = ZygoteProvider(_bwrap(), Limits(), None, ("numpy", "torch"))

    async def run() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        bwrap = provider.sandbox
        try:
            async with (
                KernelSession(bwrap, Limits(), None, provider=provider) as a,
                KernelSession(bwrap, Limits(), None, provider=provider) as b,
            ):
                for ks in (a, b):
                    ks.place_files({})
                    await ks.start()
                planted = await a.run_cell(0, PLANT)
                assert planted.status == "ok", planted
                code = f"A_RUNTIME = {str(a.runtime)!r}\nB_RUNTIME = {str(b.runtime)!r}\n"
                attack = await b.run_cell(0, code + ATTACK)
                assert attack.status == "ok", attack
                host = {
                    "a_uid": _host_uid(a),
                    "b_uid": _host_uid(b),
                    "a_alive": await a.alive(),
                    "zygote_alive": provider._zygotes[None].alive(),
                    "evil": (a.runtime / "evil").exists(),
                    "b_folder": b.runtime.parent.name,
                    "b_cell_after": (await b.run_cell(1, "print('still here')")).output,
                    "a_cell_after": (await a.run_cell(1, "print(open('a-secret').read())")).output,
                    # each kernel its own random state, as fresh kernels have (not the zygote's)
                    "random": [(await ks.run_cell(2, RANDOM)).output.split() for ks in (a, b)],
                }
                return _last_json(planted.output), _last_json(attack.output), host
        finally:
            await provider.close()

    planted, found, host = asyncio.run(run())
    assert planted["uid"] == "1000" and planted["cwd"] == "/submission"
    pool = UidPool()
    assert host["a_uid"] != host["b_uid"], host
    for uid in (host["a_uid"], host["b_uid"]):
        assert pool.first <= uid < pool.first + pool.count and uid != 65534
    # nothing of A is there for B: not by name, not through /proc, not through the slots
    assert not any(v for k, v in found.items() if k.startswith("/")), found
    assert found["proc_roots"] == []
    assert found["slots"] == [host["b_folder"]], found  # its own folder only
    # only its own pid namespace: pid 1 (its init, which drops the signal) and itself
    assert max(found["pids"]) < 10, found["pids"]
    assert host["evil"] is False
    # user.max_user_namespaces = 0 in the child's namespace; no capability for a mount namespace
    assert found["unshare_user"] == "-1 No space left on device", found
    assert found["unshare_ns"] == "-1 Operation not permitted", found
    assert found["mount"] is not True, found
    assert host["a_alive"] and host["zygote_alive"]
    assert "still here" in host["b_cell_after"]
    assert host["a_cell_after"].strip() == "A"
    (a_random, b_random) = host["random"]
    assert len(a_random) == len(b_random) == 3, host["random"]
    assert all(x != y for x, y in zip(a_random, b_random, strict=True)), host["random"]


SLOW = "import time\ntime.sleep(12)\nprint('slept')"


@pytest.fixture()
def slow_submission(tmp_path: Path) -> Path:
    nb = notebook(CORRECT)
    nb.cells.insert(2, new_code_cell(SLOW))
    path = tmp_path / "slow.ipynb"
    write(path, nb)
    return path


def test_a_dead_zygote_costs_a_regrade_not_a_grade(
    graded: GradedRun, slow_submission: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The zygote is killed (from outside: nothing inside can reach it) while a kernel forked
    from it runs a cell: the submission is graded again from the start on a new zygote, and its
    report is the one a quiet run gives."""
    _bwrap()
    monkeypatch.setenv("GRADER_HOME", str(graded.home))

    async def run() -> tuple[list[Report], int]:
        settings = Settings(cache_dir=graded.cache, kernels="zygote", jobs=1, prestart="off")
        p = await prepare(find_assignment("intro_ann"), settings)
        assert isinstance(p.kernels, ZygoteProvider)
        provider = p.kernels

        async def kill_it() -> None:
            # once the zygote has forked the kernel (a kill during its boot would be a start
            # failure, not this test), give the kernel time to reach its 12 s cell
            while None not in provider._zygotes or not provider._zygotes[None].spawned:
                await asyncio.sleep(0.1)
            zygote = provider._zygotes[None]
            await asyncio.sleep(4)
            assert zygote.proc is not None
            os.killpg(zygote.proc.pid, signal.SIGKILL)

        killer = asyncio.ensure_future(kill_it())
        try:
            reports = await grade_many(p, [load_file(slow_submission, "slow")], lambda r: None)
        finally:
            killer.cancel()
            started = provider.started
            await p.close()
        return reports, started

    (report,), started = asyncio.run(run())
    assert started == 2
    assert report.status.value == "graded" and report.score == 100, report.reason
    assert report.events[0].kind is EventKind.GRADED_AGAIN, report.events
    assert "graded again from the start" in report.events[0].message
    assert any(c.output == "slept\n" for c in report.cells)
