"""The kernel's Python and library environment. Packages outside the interpreter's own prefix
($PYTHONPATH, ``--user`` installs; how the GPU machine's check installs the Jupyter stack) reach
the sandboxed kernel read-only; a checkout on $PYTHONPATH (it holds the reference) never does; a
CUDA kernel finds driver libraries on $LD_LIBRARY_PATH; a kernel that cannot start says why."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graders.errors import KernelStartError
from graders.grading.execute import KernelSession
from graders.kernel.providers import KernelProvider
from graders.kernel.zygote import ZygoteProvider, zygote_unavailable
from graders.sandbox import bwrap as sandbox
from graders.sandbox.bwrap import Bubblewrap, SandboxSpec, python_path
from graders.spec.assignment import Limits
from tests.conftest import ROOT, GradedRun, run_grader

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")


def _provider(kernels: str) -> KernelProvider:
    if kernels == "fresh":
        return KernelProvider()
    bwrap = sandbox.get_sandbox("bwrap")
    if why := zygote_unavailable(bwrap):
        pytest.skip(f"no zygote here: {why}")
    assert isinstance(bwrap, Bubblewrap)
    return ZygoteProvider(bwrap, Limits(), None, ("numpy",))


def _pythonpath() -> list[str]:
    return [e for e in os.environ.get("PYTHONPATH", "").split(os.pathsep) if e]


def test_python_path_shows_package_folders_and_drops_protected_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "_protected", set())
    site = tmp_path / "site"
    reference = tmp_path / "course" / "reference"
    inside = reference / "lib"
    for d in (site, inside):
        d.mkdir(parents=True)
    sandbox.protect(reference)
    entries = [str(site), str(ROOT), str(tmp_path / "course"), str(inside), "relative", "",
               str(tmp_path / "missing"), str(site)]  # fmt: skip
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(entries))
    shown, dropped = python_path()
    assert str(site) in shown and shown.count(str(site)) == 1
    # the checkout (a place assignments are looked for), a folder above a protected one, and
    # one inside it
    assert set(dropped) == {str(ROOT), str(tmp_path / "course"), str(inside)}
    assert sandbox.kernel_env("/submission", None)["PYTHONPATH"].split(os.pathsep) == shown


@needs_bwrap
def test_gpu_kernel_gets_the_loader_cache_and_library_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    libs = tmp_path / "nvidia" / "lib64"
    libs.mkdir(parents=True)
    for d in ("w", "r"):
        (tmp_path / d).mkdir()
    monkeypatch.setenv("LD_LIBRARY_PATH", os.pathsep.join([str(libs), str(ROOT)]))
    sb = Bubblewrap(shutil.which("bwrap") or "bwrap")
    cpu = sb.wrap(["python"], SandboxSpec(tmp_path / "w", tmp_path / "r", None, Limits()), None)
    gpu = sb.wrap(
        ["python"], SandboxSpec(tmp_path / "w", tmp_path / "r", None, Limits(), gpu="0"), None
    )
    triples = {tuple(gpu[i : i + 3]) for i in range(len(gpu) - 2)}
    assert ("--ro-bind", str(libs), str(libs)) in triples
    assert ("--setenv", "LD_LIBRARY_PATH", str(libs)) in triples  # not the checkout
    if Path("/etc/ld.so.cache").exists():
        assert ("--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache") in triples
    assert "LD_LIBRARY_PATH" not in cpu and "/etc/ld.so.cache" not in cpu
    assert str(libs) not in cpu


@needs_bwrap
@pytest.mark.kernel
@pytest.mark.parametrize("kernels", ["fresh", "zygote"])
def test_sandboxed_kernel_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernels: str
) -> None:
    """One real kernel in bubblewrap, pinned to "GPU 0" (no GPU needed: nothing imports CUDA):
    a package only on $PYTHONPATH imports, the checkout on $PYTHONPATH stays invisible, and a
    library only on $LD_LIBRARY_PATH loads, as the NVIDIA driver's libcuda.so must."""
    site = tmp_path / "site"
    (site / "course_helpers").mkdir(parents=True)
    (site / "course_helpers" / "__init__.py").write_text("ANSWER = 42\n")
    libs = tmp_path / "driver"
    libs.mkdir()
    libz = next(p for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib")
                for p in sorted(Path(d).glob("libz.so.1*")) if p.is_file())  # fmt: skip
    shutil.copy(libz, libs / "libgraderfake.so.1")
    # prepended: where the harness's own packages come from $PYTHONPATH (the GPU machine's
    # check), the kernel needs those too
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), str(ROOT), *_pythonpath()]))
    monkeypatch.setenv("LD_LIBRARY_PATH", str(libs))
    code = (
        "import course_helpers, ctypes, os, sys\n"
        "print('answer', course_helpers.ANSWER)\n"
        f"print('checkout visible', os.path.exists({str(ROOT / 'reference')!r}))\n"
        f"print('checkout on path', {str(ROOT)!r} in sys.path)\n"
        "ctypes.CDLL('libgraderfake.so.1')\n"
        "print('driver library loaded')\n"
    )

    async def run() -> str:
        provider = _provider(kernels)
        try:
            bwrap = sandbox.get_sandbox("bwrap")
            async with KernelSession(bwrap, Limits(), None, gpu="0", provider=provider) as ks:
                ks.place_files({})
                await ks.start()
                rec = await ks.run_cell(0, code)
                assert rec.status == "ok", rec
                return rec.output
        finally:
            await provider.close()

    out = asyncio.run(run())
    assert "answer 42" in out
    assert "checkout visible False" in out and "checkout on path False" in out
    assert "driver library loaded" in out


@needs_bwrap
@pytest.mark.kernel
@pytest.mark.parametrize("kernels", ["fresh", "zygote"])
def test_kernel_that_cannot_start_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernels: str
) -> None:
    """A broken environment (here: ipykernel without pyzmq) is reported with the kernel's own
    words and what to do, at once, instead of an empty "kernel died" per submission."""
    site = tmp_path / "broken" / "ipykernel"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'zmq'\")  # ipykernel without pyzmq\n"
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site.parent), *_pythonpath()]))

    async def run() -> None:
        provider = _provider(kernels)
        try:
            bwrap = sandbox.get_sandbox("bwrap")
            async with KernelSession(bwrap, Limits(), None, provider=provider) as ks:
                ks.place_files({})
                await ks.start()
        finally:
            await provider.close()

    with pytest.raises(KernelStartError, match=r"did not start .*No module named 'zmq'.*lacks a"):
        asyncio.run(asyncio.wait_for(run(), 60))


@needs_bwrap
@pytest.mark.kernel
def test_run_stops_when_no_kernel_can_start_and_a_rerun_grades_them(
    graded: GradedRun, submissions: Path, tmp_path: Path
) -> None:
    """300 submissions on a machine whose kernels cannot start: the run stops after the first
    few with the reason and exit code 4 instead of 300 identical errors, and a rerun after the
    fix grades those too (a harness failure's report never counts as done)."""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "ipykernel_launcher.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'zmq'\")\n"
    )
    inputs = tmp_path / "class"
    inputs.mkdir()
    names = ["correct", "bob", "carol", "template", "module_correct"]
    for n in names:
        src = submissions / (f"{n}.py" if n.startswith("module") else f"{n}.ipynb")
        shutil.copy(src, inputs / src.name)
    out = tmp_path / "out"
    args = [
        "grade",
        "intro_ann",
        str(inputs),
        "--out",
        str(out),
        "--jobs",
        "1",
        "--prestart",
        "off",
        "--kernels",
        "fresh",  # a zygote's kernels do not run ipykernel_launcher
    ]
    path = os.pathsep.join([str(broken), *_pythonpath()])
    first = run_grader(args, graded.home, graded.cache, env_extra={"PYTHONPATH": path})
    assert first.returncode == 4, first.stdout + first.stderr
    assert "no kernel could start, so grading stopped after 3 submission(s)" in first.stderr
    assert "No module named 'zmq'" in first.stderr and "lacks a package" in first.stderr
    tried = sorted(out.glob("*/report.json"))
    assert len(tried) == 3
    assert all(json.loads(r.read_text())["status"] == "error" for r in tried)

    again = run_grader([*args[:-6], "--jobs", "2"], graded.home, graded.cache)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already graded" not in again.stderr
    scores = {r.parent.name: json.loads(r.read_text())["score"] for r in out.glob("*/report.json")}
    assert len(scores) == len(names) and scores["correct"] == 100, scores


COURSE_PACKAGES = ("torch", "torchvision", "sklearn", "matplotlib", "pandas", "tqdm")
_BLOCK = f"""
import importlib.abc, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {COURSE_PACKAGES!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)")

sys.meta_path.insert(0, Block())
"""


def test_the_harness_needs_no_course_package() -> None:
    """``pip install .`` without extras brings no torch: the course's packages are the
    ``course`` extra, and every harness module imports, and ``grader --help`` runs, with them
    blocked (as where they are not installed)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = " ".join(project["dependencies"]).lower()
    assert not [
        p for p in ("torch", "scikit-learn", "matplotlib", "pandas", "tqdm") if p in required
    ]
    assert {"torch>=2.2", "tqdm>=4.60", "pandas>=1.5"} <= set(
        project["optional-dependencies"]["course"]
    )
    code = (
        _BLOCK
        + (
            "import importlib, pkgutil, graders\n"
            "for m in pkgutil.iter_modules(graders.__path__):\n"
            "    if m.name not in ('zygote_child', '__main__'):\n"  # kernel-side scripts
            "        importlib.import_module('graders.' + m.name)\n"
            "from graders.cli.main import main\n"
            "for argv in (['--help'], ['grade', '--help'], ['check', '--help']):\n"
            "    try:\n"
            "        main(argv)\n"
            "    except SystemExit as e:\n"
            "        assert e.code == 0, (argv, e.code)\n"
            "assert not set(sys.modules) & set(" + repr(COURSE_PACKAGES) + ")\n"
            "print('harness ok')\n"
        )
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.endswith("harness ok\n"), proc.stderr[-3000:]
    assert "usage: grader grade" in proc.stdout


@pytest.fixture(scope="module")
def course_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second venv, as a course would make one: ipykernel, numpy, and a package of the
    course's own that the harness's venv lacks."""
    venv = tmp_path_factory.mktemp("course") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "ipykernel", "numpy"]
    subprocess.run(pip, check=True, timeout=600)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "coursepkg_xyz.py").write_text("def half(x):\n    return x / 2\n")
    return venv


@pytest.mark.kernel
@needs_bwrap
@pytest.mark.parametrize("kernels", ["fresh", "zygote"])
def test_an_assignment_runs_its_kernels_in_its_own_python(
    course_venv: Path, tmp_path: Path, kernels: str
) -> None:
    """``[environment] python = ...``: the reference, the template and the students' kernels
    all run there (the course's package imports), the harness has not got the package, and
    both kernel providers grade alike."""
    import importlib.util

    if kernels == "zygote" and (why := zygote_unavailable(sandbox.get_sandbox("bwrap"))):
        pytest.skip(f"no zygote here: {why}")
    assert importlib.util.find_spec("coursepkg_xyz") is None
    cache = tmp_path / "cache"
    assert run_grader(["new", "hw_env"], tmp_path, cache).returncode == 0
    folder = tmp_path / "assignments" / "hw_env"
    python = course_venv / "bin" / "python"
    with (folder / "assignment.toml").open("a") as f:
        f.write(f'\n[environment]\npython = "{python}"\n')
    tmpl = folder / "template.ipynb"
    tmpl.write_text(tmpl.read_text().replace('"import numpy as np"', '"import numpy as np\\n'
                                             'from coursepkg_xyz import half"'))  # fmt: skip
    solution = tmp_path / "reference" / "hw_env" / "solution.py"
    solution.write_text("from coursepkg_xyz import half\n" + solution.read_text())
    student = tmp_path / "student.py"
    student.write_text(
        "import sys\n\nimport numpy as np\nfrom coursepkg_xyz import half\n\n"
        "print('prefix', sys.prefix)\n\n\n"
        "def mse(y, yhat):\n    return float(np.mean((np.asarray(y) - np.asarray(yhat)) ** 2))\n"
    )
    verify = run_grader(["verify", "hw_env"], tmp_path, cache)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    out = tmp_path / "out"
    proc = run_grader(
        ["grade", "hw_env", str(student), str(tmpl), "--out", str(out), "--kernels", kernels],
        tmp_path, cache,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    graded = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/report.json")}
    assert graded["student"]["score"] == 100
    assert graded["student"]["cells"][0]["output"] == f"prefix {course_venv}\n"
    assert graded["template"]["score"] == 0
    assert [c["error"]["type"] for c in graded["template"]["cells"] if c["error"]] == [
        "NotImplementedError"
    ]
    want = "forked from a zygote" if kernels == "zygote" else "a fresh kernel"
    assert all(want in r["sandbox"] for r in graded.values())
