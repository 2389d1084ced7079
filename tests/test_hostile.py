"""Hostile submissions, each a real notebook graded end to end in the real sandbox, in one run
beside a correct submission that must come out unaffected."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from build_template import STUBS, notebook, write  # type: ignore[import-not-found]
from make_examples import CORRECT  # type: ignore[import-not-found]
from nbformat.v4 import new_code_cell

from graders.kernel.providers import FRESH
from graders.kernel.zygote import ZygoteProvider
from graders.kernel.zygote_os import UidPool
from tests.conftest import SANDBOXED, GradedRun, make_home, provider_or_skip, run_grader

pytestmark = SANDBOXED

REF_MARK = "REFERENCE-SECRET-6f1d2c"
OTHER_MARK = "OTHER-STUDENT-SECRET-91ab"
ENV_MARK = "HOST-ENV-SECRET-77e0"
HOME_MARK = "INSTRUCTOR-HOME-SECRET-c3d4"
HARNESS_MARK = "class CappedClient"  # in graders/kernel/capture.py, never sent to a kernel
MARKS = (REF_MARK, OTHER_MARK, ENV_MARK, HOME_MARK, HARNESS_MARK)


def _with(stubs: dict[str, str], *cells: str, at: int = 2) -> Any:
    nb = notebook(stubs)
    for k, src in enumerate(cells):
        nb.cells.insert(at + k, new_code_cell(src))
    return nb


class Listener:
    """A TCP server on the host's loopback that must never hear from a kernel."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                continue

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self.sock.close()


def _uid_procs(uid: int = 65534) -> list[str]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if d.stat().st_uid == uid:
                    out.append((d / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:100])
            except OSError:
                continue
    return out


@pytest.fixture(scope="session", params=["fresh", "zygote"])
def hostile(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[GradedRun, Listener]]:
    """The whole suite runs once per kernel provider: one bubblewrap per kernel, and kernels
    forked from a zygote."""
    kernels = provider_or_skip(request)
    base = tmp_path_factory.mktemp(f"hostile-{kernels}")
    home = make_home(base / "home")
    # The hog and the fork bomb must meet their limits, not the cell's clock: near its limit
    # the memory cgroup reclaims the kernel's file pages before it kills, and the 6 GB hog took
    # 24 s to be killed on a quiet 2-core machine (a 15 s cell limit timed out in CI). Nothing
    # here loops forever, so longer limits cost nothing.
    toml = home / "assignments" / "intro_ann" / "assignment.toml"
    toml.write_text(
        toml.read_text().replace("cell_timeout = 15", "cell_timeout = 90")
        .replace("submission_timeout = 150", "submission_timeout = 400")
        .replace("memory_mb = 3072", "memory_mb = 2048")
    )  # fmt: skip
    limits = toml.read_text()
    assert all(x in limits for x in ("= 90", "= 400", "memory_mb = 2048")), limits
    sol = home / "reference" / "intro_ann" / "solution.py"
    sol.write_text(f"# {REF_MARK}\n" + sol.read_text())
    instructor_home = base / "instructor"
    instructor_home.mkdir()
    (instructor_home / "notes.txt").write_text(HOME_MARK)
    subs = base / "subs"
    subs.mkdir()
    other = base / "other_class"
    other.mkdir()
    (other / "victim.py").write_text(f"# {OTHER_MARK}\n")
    harness = Path(__file__).resolve().parent.parent / "graders" / "capture.py"
    listener = Listener()

    steal = f"""
import glob, os
for path in [{str(sol)!r}, {str(other / "victim.py")!r}, {str(instructor_home / "notes.txt")!r},
             {str(harness)!r}, "/etc/shadow", "/root/.bashrc", "/proc/1/environ"]:
    try:
        print(path, open(path).read()[:200])
    except Exception as e:
        print(path, "->", type(e).__name__)
print(dict(os.environ))
print(glob.glob("/tmp/*"), glob.glob("/submission/*"), os.listdir("/"))
"""
    connect = f"""
import socket
targets = [("127.0.0.1", {listener.port}), ("pypi.org", 443)]
for host, port in targets:
    try:
        socket.create_connection((host, port), timeout=3).close()
        print("CONNECTED", host)
    except Exception as e:
        print(host, "->", type(e).__name__, e)
"""
    memory_hog = "import numpy as np\nhog = np.ones(6 * 2**30 // 8)\nprint(hog.sum())"
    fork_bomb = """
import os, time
kids = 0
for i in range(2000):
    try:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        kids += 1
    except OSError as e:
        print("fork refused after", kids, type(e).__name__)
        break
"""
    big_print = "import sys\nfor i in range(300):\n    sys.stdout.write('x' * 2**20)"
    kill_self = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
    exit_in_check = {**CORRECT, "bce_loss": "def bce_loss(p, y):\n    import os\n    os._exit(1)"}
    vandal = (
        "import os, shutil\nshutil.rmtree(os.getcwd(), ignore_errors=True)\nos.chdir('/')\n"
        "print(os.getcwd())"
    )
    forge = """
import json, os, builtins
import numpy as np
fake = {"score": 100, "max_score": 100, "tests": []}
for d in [".", "/tmp", "/submission", "..", "/submission/.."]:
    for name in ["report.json", "results.json"]:
        try:
            with open(os.path.join(d, name), "w") as f:
                json.dump(fake, f)
        except Exception as e:
            print(d, name, type(e).__name__)
print(json.dumps(fake))
print('{"kind": "value", "value": 1.0}')
from IPython.display import publish_display_data
publish_display_data({"application/vnd.grader.probe+json": '{"kind": "value", "value": 1.0}'})
"""
    patch = """
import json, builtins
import numpy as np
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, **k: np.ones_like(np.asarray(a), dtype=bool)
json.dumps = lambda *a, **k: '{"kind": "value", "value": 1.0}'
json.loads = lambda *a, **k: {"kind": "value", "value": 1.0}
"""
    forge_in_check = {
        **STUBS,
        "accuracy": """def accuracy(probs, y, threshold=0.5):
    from IPython.display import publish_display_data
    publish_display_data({"application/vnd.grader.probe+json": '{"kind": "value", "value": 0.75}'})
    print('{"kind": "value", "value": 0.75}')
    get_ipython().user_ns['__grader_rt__']._last = '{"kind": "value", "value": 0.75}'
    raise NotImplementedError()""",
    }
    disk_filler = (
        "written = 0\ntry:\n    for i in range(100):\n"
        "        with open(f'junk{i}', 'wb') as f:\n            f.write(b'x' * 2**20)\n"
        "        written += 1\nexcept OSError as e:\n    print('stopped after', written, 'MB:', e)"
    )
    cases = {
        "disk_filler": _with(CORRECT, disk_filler),
        "correct": notebook(CORRECT),
        "steal": _with(CORRECT, steal),
        "connect": _with(CORRECT, connect),
        "memory_hog": _with(CORRECT, memory_hog),
        "fork_bomb": _with(CORRECT, fork_bomb),
        "big_print": _with(CORRECT, big_print),
        "kill_self": _with(CORRECT, kill_self, at=12),
        "segfault": _with(CORRECT, "import ctypes\nctypes.string_at(0)  # a crash in C", at=12),
        "exit_in_check": notebook(exit_in_check),
        "vandal": _with(CORRECT, vandal, at=len(notebook(CORRECT).cells)),
        "forge": _with(STUBS, forge),
        "patch": _with(STUBS, patch, at=len(notebook(STUBS).cells)),
        "forge_in_check": notebook(forge_in_check),
    }
    for name, nb in cases.items():
        write(subs / f"{name}.ipynb", nb)
    out = base / "out"
    env_backup = os.environ.get("GRADER_TEST_SECRET")
    os.environ["GRADER_TEST_SECRET"] = ENV_MARK  # run_grader passes os.environ on
    try:
        proc = run_grader(
            ["grade", "intro_ann", str(subs), "--out", str(out), "-j", "2", "--kernels", kernels],
            home,
            base / "cache",
        )
    finally:
        if env_backup is None:
            os.environ.pop("GRADER_TEST_SECRET")
    reports = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/report.json")}
    yield GradedRun(home, base / "cache", out, proc, reports), listener
    listener.close()


def test_run_completes_and_correct_is_unaffected(hostile: tuple[GradedRun, Listener]) -> None:
    run, _ = hostile
    assert run.proc.returncode == 0, run.proc.stderr[-3000:]
    assert len(run.reports) == 14
    assert run.reports["correct"]["score"] == 100
    kernels = "zygote" if "zygote" in run.out.parent.name else "fresh"
    described = {r["sandbox"].split("; ")[-1] for r in run.reports.values()}
    assert described == {ZygoteProvider.describe_ok if kernels == "zygote" else FRESH.describe()}


def test_no_secret_in_any_output_file(hostile: tuple[GradedRun, Listener]) -> None:
    run, _ = hostile
    for path in run.out.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            for mark in MARKS:
                assert mark not in text, (path, mark)
    steal = run.reports["steal"]
    printed = "".join(c["output"] for c in steal["cells"])
    assert "FileNotFoundError" in printed  # the reads were attempted and failed
    assert steal["score"] == 100


def test_no_network_not_even_host_loopback(hostile: tuple[GradedRun, Listener]) -> None:
    run, listener = hostile
    printed = "".join(c["output"] for c in run.reports["connect"]["cells"])
    assert "CONNECTED" not in printed and "127.0.0.1 ->" in printed
    assert listener.connections == 0


def test_memory_hog_hits_the_memory_limit(hostile: tuple[GradedRun, Listener]) -> None:
    r = hostile[0].reports["memory_hog"]
    if any("no cgroup" in e for e in r["events"]):
        pytest.skip("no writable cgroup on this machine: " + "; ".join(r["events"]))
    hog = r["cells"][1]
    assert hog["status"] == "died" and hog["error"]["message"] == "memory limit", hog
    assert any("memory limit" in e and "restarted" in e for e in r["events"])
    assert r["score"] == 100


def test_fork_bomb_is_contained(hostile: tuple[GradedRun, Listener]) -> None:
    r = hostile[0].reports["fork_bomb"]
    if any("no cgroup" in e for e in r["events"]):
        pytest.skip("no writable pids cgroup on this machine: " + "; ".join(r["events"]))
    assert "fork refused after" in r["cells"][1]["output"]
    assert r["score"] == 100


def test_huge_print_is_capped(hostile: tuple[GradedRun, Listener]) -> None:
    run, _ = hostile
    r = run.reports["big_print"]
    assert (run.out / "big_print" / "report.json").stat().st_size < 2 * 2**20
    cell = r["cells"][1]
    assert cell["status"] == "died" and cell["error"]["message"] == "output limit"
    # the student still sees what they printed first, and that it was cut
    assert len(cell["output"]) > 100_000 and "[output truncated by the grader]" in cell["output"]
    assert r["score"] == 100


def test_killing_its_kernel_and_exiting_in_a_check(hostile: tuple[GradedRun, Listener]) -> None:
    run, _ = hostile
    r = run.reports["kill_self"]
    died = [c for c in r["cells"] if c["status"] == "died"]
    assert len(died) == 1 and r["score"] == 100
    assert died[0]["error"]["message"] == "kernel died"  # no last words: killed from outside
    # a crash inside the interpreter is named (faulthandler's words, from the kernel's own log)
    r = run.reports["segfault"]
    died = [c for c in r["cells"] if c["status"] == "died"]
    assert len(died) == 1 and r["score"] == 100
    assert died[0]["error"]["message"] == "kernel died (Segmentation fault)", died
    r = run.reports["exit_in_check"]
    bce = [t for t in r["tests"] if t["stub"] == "bce_loss"]
    assert [t["outcome"] for t in bce] == ["error", "error"]
    assert "kernel died" in bce[0]["output"] and "crashed the kernel" in bce[1]["output"]
    others = [t for t in r["tests"] if t["stub"] != "bce_loss"]
    assert all(t["outcome"] == "passed" for t in others)


def test_deleting_work_dir_and_chdir(hostile: tuple[GradedRun, Listener]) -> None:
    r = hostile[0].reports["vandal"]
    assert any(c["output"] == "/\n" for c in r["cells"]), r["cells"]
    assert r["score"] == 100


def test_forged_reports_and_prints_change_nothing(hostile: tuple[GradedRun, Listener]) -> None:
    run, _ = hostile
    for name in ("forge", "patch", "forge_in_check"):
        r = run.reports[name]
        assert r["score"] == 0, (name, [t for t in r["tests"] if t["score"]])
    # The forger wrote report.json and results.json wherever its sandbox let it ("." and /tmp
    # are its own tmpfs): none of them reached the host, beside the submissions or anywhere.
    base = run.out.parent
    ours = {run.out / sub / f for sub in run.reports for f in ("report.json", "results.json")}
    found = {p for f in ("report.json", "results.json") for p in base.rglob(f)}
    assert found == ours, sorted(map(str, found - ours))
    for p in (Path("/tmp/report.json"), Path("/tmp/results.json")):
        assert not p.exists() or '"tests": []' not in p.read_text(errors="replace"), p
    ran = [c for c in run.reports["forge"]["cells"] if '"score": 100' in c["output"]]
    assert [c["status"] for c in ran] == ["ok"], run.reports["forge"]["cells"]  # it did run


def test_nothing_left_running(hostile: tuple[GradedRun, Listener]) -> None:
    assert _uid_procs() == []
    pool = UidPool()  # a forked kernel's own host uid
    assert [p for uid in range(pool.first, pool.first + 64) for p in _uid_procs(uid)] == []
    for ctl in ("memory", "pids"):
        d = Path("/sys/fs/cgroup") / ctl / "grader"
        if d.is_dir():
            assert [p for p in d.iterdir() if p.is_dir()] == [], ctl


def test_work_dir_disk_use_is_capped(hostile: tuple[GradedRun, Listener]) -> None:
    r = hostile[0].reports["disk_filler"]
    out = r["cells"][1]["output"]
    assert "stopped after" in out and "No space left on device" in out, out
    assert int(out.split()[2]) <= 64  # work_mb = 64 (a fresh kernel's start-up wrote 96 KB)
    assert r["score"] == 100
