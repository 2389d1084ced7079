"""Fast tests of single modules: loading checks and assignments, discovering submissions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from graders.errors import AssignmentError, UsageError
from graders.intake.discover import discover
from graders.spec.assignment import find_assignment, load_assignment
from graders.verdict.checks import load_checks

ROOT = Path(__file__).resolve().parent.parent


def test_intro_ann_loads_with_17_checks_totalling_100() -> None:
    a = find_assignment("intro_ann", ROOT)
    suite = a.load_checks()
    assert len(suite.checks) == 17 and suite.total_points == 100
    assert a.reference_dir is not None and a.secret_seed
    gd = suite.checks[0]
    assert gd.name.startswith("gradient_descent: ") and gd.source.startswith("def gd_example")
    assert "@check" not in gd.source  # decorators are not sent to the kernel
    # a probe travels with the @helpers it calls only (#32.9: none that only hidden checks use)
    by_func = {c.func_name: c for c in suite.checks}
    assert by_func["te_hidden"].source.startswith("def _torch_data")
    assert "def _linear_model" in by_func["te_hidden"].source
    assert "_torch_data" not in by_func["acc_example"].source
    assert len(suite.public().checks) == 9


def test_numpy_review_loads_and_resolves_dependencies() -> None:
    suite = find_assignment("numpy_review", ROOT).load_checks()
    assert len(suite.checks) == 18 and suite.total_points == 100
    by_func = {c.func_name: c for c in suite.checks}
    assert by_func["fit_playground"].depends == (
        by_func["quadratic_numpy"].name,
        by_func["quadratic_grad"].name,
    )
    assert by_func["quadratic_numpy"].depends == ()


def test_dependencies_by_object_or_function_name(tmp_path: Path) -> None:
    body = (
        "@check(points=1)\ndef a(s, c):\n    'f: first'\n\n"
        "@check(points=1, depends=[a])\ndef b(s, c):\n    'f: second'\n\n"
        "@check(points=1, depends=['a', 'b'])\ndef c(s, c):\n    'f: third'\n"
    )
    suite = load_checks(_checks_file(tmp_path, body), ("f",))
    assert [c.depends for c in suite.checks] == [(), ("f: first",), ("f: first", "f: second")]


def _checks_file(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "checks.py"
    p.write_text("from graders import check\n\n" + body)
    return p


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("@check(points=1)\ndef a(s, c):\n    'no stub here'\n", "say which stub"),
        (
            "@check(stub='g', points=1)\ndef a(s, c):\n    'x'\n",
            "not one of the assignment's stubs",
        ),
        ("@check(stub='f', points=1)\ndef a(s, c):\n    ''\n", "docstring title"),
        (
            "import numpy as np\n@check(stub='f', points=1)\ndef a(s, c):\n    'x'\n"
            "    return np.zeros(2)\n",
            "uses np, which the probe will not have",
        ),
        (
            "LIMIT = 3\n@check(stub='f', points=1)\ndef a(s, c):\n    'x'\n"
            "    return [s.f(i) for i in range(LIMIT)]\n",
            "uses LIMIT",
        ),
        ("@check(points=1)\ndef a(s, c):\n    'other: x'\n", "not one of the assignment's stubs"),
        (
            "@check(points=1)\ndef a(s, c):\n    'f: x'\n"
            "@check(points=1)\ndef b(s, c):\n    'f: x'\n",
            "two checks",
        ),
        (
            "@check(points=1, depends=['b'])\ndef a(s, c):\n    'f: x'\n",
            "not a check defined above",
        ),
        (
            "@check(points=1, depends=['b'])\ndef a(s, c):\n    'f: x'\n"
            "@check(points=1)\ndef b(s, c):\n    'f: y'\n",
            "not a check defined above",
        ),
        ("x = 1\n", "defines no checks"),
        ("raise RuntimeError('boom')\n", "RuntimeError: boom"),
    ],
)
def test_bad_checks_files_are_explained(tmp_path: Path, body: str, fragment: str) -> None:
    with pytest.raises(AssignmentError, match=fragment):
        load_checks(_checks_file(tmp_path, body), ("f",))


def test_unknown_limits_and_bad_toml(tmp_path: Path) -> None:
    (tmp_path / "assignment.toml").write_text(
        'name = "x"\nstubs = ["f"]\n[limits]\ncell_timout = 5\n'
    )
    with pytest.raises(AssignmentError, match="unknown limits"):
        load_assignment(tmp_path)
    (tmp_path / "assignment.toml").write_text("name = ")
    with pytest.raises(AssignmentError):
        load_assignment(tmp_path)
    with pytest.raises(UsageError, match="found there: fashion_lab, intro_ann"):
        find_assignment("nope", ROOT)


def test_discover_files_folders_and_junk(tmp_path: Path) -> None:
    (tmp_path / "alice.ipynb").write_text(
        '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    (tmp_path / "alice.py").write_text("x = 1\n")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    (tmp_path / "__MACOSX").mkdir()
    bob = tmp_path / "bob"
    bob.mkdir()
    (bob / "hw.py").write_text("x = 2\n")
    (bob / "data.csv").write_text("1,2\n")
    two = tmp_path / "carol"
    two.mkdir()
    (two / "a.ipynb").write_text("{}")
    (two / "b.ipynb").write_text("{}")
    (tmp_path / "dave").mkdir()
    found = discover([tmp_path])
    subs = {s.id: s for s in found.submissions}
    assert set(subs) == {"alice", "alice-2", "bob", "carol", "dave"}
    assert subs["alice"].kind == "notebook" and subs["alice-2"].kind == "module"
    assert subs["bob"].gradable and set(subs["bob"].extra) == {"data.csv"}
    assert "several .ipynb" in subs["carol"].problem
    assert "no .ipynb or .py" in subs["dave"].problem
    assert {Path(p).name for p, _ in found.skipped} == {".DS_Store", "__MACOSX"}
    with pytest.raises(UsageError, match="no such file"):
        discover([tmp_path / "missing"])


def test_discover_rejects_bad_notebooks(tmp_path: Path) -> None:
    for name, text in {"a.ipynb": "[1, 2]", "b.ipynb": "{", "c.ipynb": '{"cells": 3}'}.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "d.py").write_bytes(b"x = '\x93quoted\x94'\n")  # saved as Windows-1252
    problems = {s.id: s.problem for s in discover([tmp_path]).submissions}
    assert all(problems.values()), problems
    assert "not UTF-8" in problems["d"] and "Windows-1252" in problems["d"]
    assert "Save with Encoding" in problems["d"]


def test_out_of_memory_errors_are_explained() -> None:
    from graders.grading.execute import ProbeResult
    from graders.verdict.checks import Check, Visibility
    from graders.verdict.compare import AllClose
    from graders.verdict.score import evaluate

    chk = Check("train_epoch: x", "train_epoch", "", "f", "", 5.0, Visibility.PUBLIC,
                AllClose(), "loss", False, None)  # fmt: skip
    ref = ProbeResult("value", value=1.0)
    msg = "CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 8.00 GiB allowed)"
    oom = {"type": "OutOfMemoryError", "message": msg, "frames": []}
    r = evaluate(chk, ref, ProbeResult("error", error=oom))
    assert r.outcome.value == "error" and "ran out of GPU memory" in r.message
    ram = {"type": "_ArrayMemoryError", "message": "Unable to allocate 7.28 TiB", "frames": []}
    assert "ran out of memory" in evaluate(chk, ref, ProbeResult("error", error=ram)).message
    cpu = {
        "type": "RuntimeError",
        "frames": [],
        "message": "[enforce fail at alloc_cpu.cpp:127] "
        "err == 0. DefaultCPUAllocator: can't allocate memory: you tried to allocate 64424509440"
        " bytes. Error code 12 (Cannot allocate memory)",
    }  # torch on the CPU
    assert "ran out of memory" in evaluate(chk, ref, ProbeResult("error", error=cpu)).message
    other = {"type": "ValueError", "message": "shapes do not match", "frames": []}
    assert "memory" not in evaluate(chk, ref, ProbeResult("error", error=other)).message


@pytest.mark.parametrize("cuda", [True, False])
def test_gpu_cap_code_caps_torchs_allocator(cuda: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel code the harness sends, run against a stand-in torch: it sets the
    allocator's fraction to the cap over the GPU's memory, and does nothing without CUDA."""
    import types

    from graders.kernel.setup import gpu_cap_code

    calls: list[tuple[float, int]] = []
    cuda_mod = types.SimpleNamespace(
        is_available=lambda: cuda,
        get_device_properties=lambda i: types.SimpleNamespace(total_memory=80 * 2**30),
        set_per_process_memory_fraction=lambda f, i: calls.append((f, i)),
    )
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda_mod))
    scope: dict[str, object] = {}
    exec(compile(gpu_cap_code(8192), "<cap>", "exec"), scope)
    assert calls == ([(8192 / (80 * 1024), 0)] if cuda else [])
    assert "_t" not in scope  # it leaves no names in the student's namespace
    exec(compile(gpu_cap_code(10**9), "<cap>", "exec"), {})  # never more than the whole GPU
    assert calls[-1:] == ([(1.0, 0)] if cuda else [])


def test_summary_lists_interrupted_kernels_by_event_kind() -> None:
    """Which submissions the summary lists as restarted depends on the kinds, not wording."""
    from graders.report.pages import summary_model

    def report(ident: str, events: list[tuple[str, str]]) -> dict[str, object]:
        return {
            "submission": {"id": ident}, "assignment": {"title": "t"}, "status": "graded",
            "score": 1.0, "max_score": 1.0, "tests": [], "execution_time": 1.0,
            "events": [m for _, m in events], "event_kinds": [k for k, _ in events],
        }  # fmt: skip

    reports = [
        report("restarted", [("kernel_restarted", "cell 2: died; kernel restarted")]),
        report("gave_up", [("kernel_not_restarted", "cell 2: died; not restarted")]),
        report("no_cgroup", [("no_cgroup", "memory is limited only roughly; restart limit")]),
        report("quiet", []),
    ]
    listed = [r["submission"]["id"] for r in summary_model(reports)["timeouts"]]  # type: ignore[index]
    assert listed == ["restarted", "gave_up"]


def test_the_schema_lists_every_event_kind() -> None:
    import json

    from graders.verdict.model import EventKind

    schema = json.loads(
        (Path(__file__).parent.parent / "graders/schema/report.schema.json").read_text()
    )
    assert schema["properties"]["event_kinds"]["items"]["enum"] == [k.value for k in EventKind]


def test_placing_code_writes_the_files_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The code that hands a pre-started kernel its submission's files, run here."""
    import os

    from graders.sandbox.workdir import place_files, placing_code

    files = {"lib/helpers.py": b"X = 1\n", "data.bin": b"\xff\x00'\"\\"}
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    exec(placing_code(files), scope)
    for name, data in files.items():
        assert (tmp_path / name).read_bytes() == data
        assert os.stat(tmp_path / name).st_mode & 0o777 == 0o444
    assert not [k for k in scope if not k.startswith("__")]  # it leaves no names behind
    host = tmp_path / "host"
    place_files(host, files)
    assert sorted(str(p.relative_to(host)) for p in host.rglob("*") if p.is_file()) == sorted(files)


def test_kernel_log_tail_and_last_words(tmp_path: Path) -> None:
    from graders.kernel import log as kernel_log

    log = tmp_path / "kernel.log"
    assert kernel_log.tail(log) == "" and kernel_log.fatal_error(log) == ""  # no log yet
    log.write_bytes(
        b"x" * 70_000 + b"\nstarting\n\n\x1b[31mTraceback\x1b[0m\n"
        b"Fatal Python error: Segmentation fault\n\nCurrent thread 0x1 (most recent call first):\n"
    )
    assert (
        kernel_log.tail(log, lines=2)
        == "Fatal Python error: Segmentation fault | Current thread 0x1 (most recent call first):"
    )
    assert "Traceback" in kernel_log.tail(log, lines=3) and "\x1b" not in kernel_log.tail(
        log, lines=3
    )
    assert kernel_log.fatal_error(log) == "Segmentation fault"
    assert len(kernel_log.end(log)) <= 64 * 1024


def test_assignment_lookup_by_path_and_a_useful_error(tmp_path: Path) -> None:
    """A path to an assignment folder works wherever a name does; a name not found says where
    it looked, what it found there, and that a path or GRADER_HOME works."""
    by_path = find_assignment(str(ROOT / "assignments" / "numpy_review"), home=tmp_path)
    assert by_path.name == "numpy_review"
    with pytest.raises(UsageError) as lost:
        find_assignment("rasbt_perceptron", home=ROOT)
    text = str(lost.value)
    assert f"under {ROOT}" in text and "found there: fashion_lab, intro_ann, numpy_review" in text
    assert "path/to/dist/rasbt_perceptron" in text and "GRADER_HOME" in text
    with pytest.raises(UsageError, match=r"a folder without assignment\.toml"):
        find_assignment(str(tmp_path), home=ROOT)


def test_which_cell_defines_a_stub() -> None:
    from graders.verdict.missing import defines, why_missing
    from graders.verdict.model import CellResult, CellStatus

    assert defines("from tqdm import tqdm\n\n\ndef train(m):\n    return m", "train")
    assert defines("if True:\n    train = lambda m: m", "train")
    assert defines("import numpy as train", "train")
    assert defines("def train(:\n  pass", "train")  # does not parse: read line by line
    assert not defines("def outer():\n    def train(m):\n        return m", "train")
    assert not defines("print(train)", "train")
    cells = [
        CellResult(1, CellStatus.OK),
        CellResult(
            2, CellStatus.ERROR, {"type": "NameError", "message": "name 'x' is not defined"}
        ),
    ]
    sources = ["import numpy as np", "y = x\ndef train(m):\n    return m"]
    why = why_missing("train", sources, cells)
    assert why == (
        "`train` is not defined: cell 2, which defines it, stopped at NameError: name 'x' is "
        "not defined. Fix that cell so that it runs to its end."
    )
    assert why_missing("evaluate", sources, cells) is None  # never written: the plain message


def test_environment_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """[environment]: a kernelspec's interpreter, a python path, and clear errors."""
    import json

    from graders.spec.environment import HARNESS, resolve

    assert resolve({}, tmp_path) is HARNESS
    spec = tmp_path / "jupyter" / "kernels" / "ml-course"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "language": "python", "display_name": "ML course"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    assert resolve({"kernelspec": "ml-course"}, tmp_path) is HARNESS
    with pytest.raises(AssignmentError, match="no Jupyter kernelspec named 'nope'"):
        resolve({"kernelspec": "nope"}, tmp_path)
    with pytest.raises(AssignmentError, match="takes one of"):
        resolve({"kernelspec": "ml-course", "python": sys.executable}, tmp_path)
    with pytest.raises(AssignmentError, match="cannot run"):
        resolve({"python": "no/such/python"}, tmp_path)


def test_method_and_class_stubs_get_signature_hints() -> None:
    """A method stub is called as Class.method(args), a class stub as Class(args of
    __init__), without self; Python's TypeError for either is recognised as a wrong call."""
    from graders.intake import notebook
    from graders.verdict.score import wrong_call

    template = (ROOT / "assignments" / "fashion_lab" / "template.ipynb").read_bytes()
    stubs = ("FashionCSV.__getitem__", "FashionNet")
    assert notebook.signatures(template, stubs) == {
        "FashionCSV.__getitem__": "FashionCSV.__getitem__(i)",
        "FashionNet": "FashionNet(hidden=64)",
    }
    message = "FashionNet.__init__() takes 1 positional argument but 2 were given"
    assert wrong_call("FashionNet", {"type": "TypeError", "message": message})
    method = "Perceptron.train() takes 3 positional arguments but 4 were given"
    assert wrong_call("Perceptron.train", {"type": "TypeError", "message": method})
    assert not wrong_call("Perceptron.train", {"type": "TypeError", "message": "bad operand"})


def test_a_mistake_may_replace_a_class_or_a_method(tmp_path: Path) -> None:
    from graders.grading.mistakes import load_mistakes
    from graders.verdict.checks import CheckSuite

    declared = """from graders import mistake


@mistake(stub="Counter", title="t", explain="e", hint="h")
class CounterFromOne:
    def __init__(self):
        self.n = 1


@mistake(stub="Counter.step", title="t", explain="e", hint="h")
def step_twice(self):
    self.n += 2
"""
    (tmp_path / "mistakes.py").write_text(declared)
    suite = CheckSuite((), tmp_path / "checks.py", ("Counter",))
    known = load_mistakes(tmp_path / "mistakes.py", suite)
    assert [m.id for m in known] == ["CounterFromOne", "step_twice"]
    assert known[0].source.startswith("class CounterFromOne:")
    assert known[0].source.endswith("\nCounter = CounterFromOne\n")
    assert known[1].source.endswith("\nCounter.step = step_twice\n")
    # appended to a reference, each replaces what it says
    reference = "class Counter:\n    def __init__(self):\n        self.n = 0\n\n"
    reference += "    def step(self):\n        self.n += 1\n"
    ns: dict[str, Any] = {}
    exec(reference + known[1].source, ns)
    counter = ns["Counter"]()
    counter.step()
    assert counter.n == 2
    exec(reference + known[0].source, ns)
    assert ns["Counter"]().n == 1
    elsewhere = declared.replace('stub="Counter.step"', 'stub="Other.step"')
    (tmp_path / "mistakes.py").write_text(elsewhere)
    with pytest.raises(AssignmentError, match="nor a method of one"):
        load_mistakes(tmp_path / "mistakes.py", suite)


def test_hidden_data_is_for_hidden_checks(tmp_path: Path) -> None:
    """files= reads the assignment's hidden_data/; a public check may not (its inputs ship to
    students), and a file that is not there is named."""
    (tmp_path / "hidden_data").mkdir()
    (tmp_path / "hidden_data" / "holdout.csv").write_text("1,2\n")
    body = '''from graders import check


@check(stub="f", points=100, hidden={hidden}, files=["{name}"])
def probe(student, ctx):
    """reads the holdout"""
    return student.f(ctx.hidden_file("{name}"))
'''
    checks = tmp_path / "checks.py"
    checks.write_text(body.format(hidden=True, name="holdout.csv"))
    [loaded] = load_checks(checks, ("f",)).checks
    assert loaded.files == (("holdout.csv", "MSwyCg=="),)
    checks.write_text(body.format(hidden=False, name="holdout.csv"))
    with pytest.raises(AssignmentError, match="files= is for hidden checks"):
        load_checks(checks, ("f",))
    checks.write_text(body.format(hidden=True, name="other.csv"))
    with pytest.raises(AssignmentError, match=r"no file 'other\.csv'"):
        load_checks(checks, ("f",))


def test_a_method_mistake_is_judged_on_its_own_checks(tmp_path: Path) -> None:
    """#35.1: a student with one mistake in `backward` and one in `evaluate` gets both named.
    Judged on the whole class's checks, each mistake got +1 from its own check and -1 from
    the other method's failure, and neither was named."""
    from graders.grading.mistakes import load_mistakes
    from graders.verdict.diagnose import diagnose
    from graders.verdict.model import CheckResult, Outcome
    from graders.verdict.results import ProbeKind, ProbeResult

    body = (
        "@check(stub='Perceptron.backward', points=1)\ndef grads(s, c):\n    'b'\n"
        "@check(stub='Perceptron.evaluate', points=1)\ndef acc(s, c):\n    'e'\n"
    )
    suite = load_checks(
        _checks_file(tmp_path, body), ("Perceptron.backward", "Perceptron.evaluate")
    )
    (tmp_path / "mistakes.py").write_text(
        "from graders import mistake\n\n\n"
        "@mistake(stub='Perceptron.backward', title='sign', explain='e', hint='h')\n"
        "def backward_sign(self, x):\n    return -x\n\n\n"
        "@mistake(stub='Perceptron.evaluate', title='count', explain='e', hint='h')\n"
        "def evaluate_count(self, x):\n    return 0\n"
    )
    known = load_mistakes(tmp_path / "mistakes.py", suite)
    assert [m.checks for m in known] == [("Perceptron.backward: b",), ("Perceptron.evaluate: e",)]
    value = lambda v: ProbeResult(ProbeKind.VALUE, value=v)  # noqa: E731
    results = {"backward_sign": {"Perceptron.backward: b": value(-1.0)},
               "evaluate_count": {"Perceptron.evaluate: e": value(0.0)}}  # fmt: skip
    probes = {"Perceptron.backward: b": value(-1.0), "Perceptron.evaluate: e": value(0.0)}
    tests = [CheckResult(c.name, c.stub, Outcome.FAILED, 0, 1, False, "wrong")
             for c in suite.checks]  # fmt: skip
    named = diagnose(suite.checks, tests, probes, known, results)
    assert {k: m.id for k, m in named.items()} == {
        "Perceptron.backward: b": "backward_sign", "Perceptron.evaluate: e": "evaluate_count"
    }  # fmt: skip


def test_a_missing_data_file_is_named_not_blamed_on_the_stub() -> None:
    """#35.3: a FileNotFoundError names the file and where it belongs; before, the student
    read "`Perceptron.train` raised FileNotFoundError". A hidden check does not name it."""
    import dataclasses

    from graders.verdict.checks import Check, Visibility
    from graders.verdict.compare import AllClose
    from graders.verdict.results import ProbeKind, ProbeResult
    from graders.verdict.score import failure_text

    error = {
        "type": "FileNotFoundError",
        "frames": [],
        "message": "[Errno 2] No such file or directory: 'data/perceptron_toydata.txt'",
    }
    got = ProbeResult(ProbeKind.ERROR, error=error)
    public = Check("Perceptron.train: x", "Perceptron.train", "", "f", "", 5.0,
                   Visibility.PUBLIC, AllClose(), "w", False, None)  # fmt: skip
    text = failure_text(public, got)
    assert "could not open the file `data/perceptron_toydata.txt`" in text
    assert "not about `Perceptron.train`'s code" in text
    hidden = dataclasses.replace(public, visibility=Visibility.HIDDEN, feedback="message")
    assert "perceptron_toydata" not in failure_text(hidden, got)


def test_a_check_may_score_on_its_own_whatever_its_prerequisites_did(tmp_path: Path) -> None:
    """#35.5: by default a skipped check scores 0 (a failed prerequisite costs its points
    too); ``skipped_scores="own"`` runs it anyway; anything else is refused."""
    body = (
        "@check(stub='f', points=1)\ndef a(s, c):\n    'f: first'\n"
        "@check(stub='f', points=1, depends=['a'])\ndef b(s, c):\n    'f: second'\n"
        "@check(stub='f', points=1, depends=['a'], skipped_scores='own')\ndef c(s, c):\n"
        "    'f: third'\n"
    )
    suite = load_checks(_checks_file(tmp_path, body), ("f",))
    assert [c.depends for c in suite.checks] == [(), ("f: first",), ()]
    bad = body.replace("skipped_scores='own'", "skipped_scores='half'")
    with pytest.raises(AssignmentError, match="skipped_scores must be 'zero' or 'own'"):
        load_checks(_checks_file(tmp_path, bad), ("f",))
