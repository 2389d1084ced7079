"""The in-notebook check in real kernels driven by nbclient, with only the self-check file
beside the notebook (no assignments/, no reference/, no harness package, no .ipynb file the
kernel could read: the Colab case), and its agreement with ``grader grade`` on every
scenario's public checks."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from graders.grading.data import write_fashion_mnist
from graders.student.cells import TAG
from tests.conftest import CORRECT, GradedRun, notebook, scenarios

pytestmark = pytest.mark.kernel
WHEEL = "intro_ann_check-1.0.0-py3-none-any.whl"
MARK = "@@selfcheck@@"
NO_HARNESS = "import sys\n\nsys.modules['graders'] = None  # a student's kernel has no harness"
# Scenarios whose own cells hang or kill the kernel: a student interrupts or restarts and runs
# again; grading's recovery (interrupt, restart, re-run) is not what check() is about.
NOT_IN_A_NOTEBOOK = {
    "loop_top": "a top-level infinite loop",
    "loop_c": "a C-level loop that ignores the interrupt",
    "exits_kernel": "os._exit in a cell",
    "broken": "not a notebook",
}


RAISES = "def accuracy(probs, y, threshold=0.5):\n    return {}['no such key']"


def run_in_kernel(cells: list[str], cwd: Path, data: Path, timeout: int = 120) -> Any:
    """Execute ``cells`` as one notebook in a fresh python3 kernel started in ``cwd``: errors
    do not stop it (a student runs on), one kernel thread as grading's kernels."""
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env["GRADER_DATA_DIR"] = str(data)
    client = NotebookClient(
        nb, kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
        # a student interrupts a cell that hangs (grading's cell_timeout is 60 s); a check()
        # cell stops each check at its own limit
        timeout_func=lambda cell: timeout if "check(" in cell.source else 60,
    )  # fmt: skip
    client.execute(cwd=str(cwd), env=env)
    return nb


def outputs(cell: Any, key: str) -> str:
    """A cell's text of one kind: "stdout", "text/plain", "text/html", "error"."""
    out = []
    for o in cell.outputs:
        if key == "stdout" and o.output_type == "stream" and o.name == "stdout":
            out.append(o.text)
        elif key == "error" and o.output_type == "error":
            out.append(f"{o.ename}: {o.evalue}")
        elif o.output_type in ("execute_result", "display_data") and key in o.get("data", {}):
            out.append(o.data[key])
        elif o.output_type == "stream" and o.name == "stderr" and key == "stderr":
            out.append(o.text)
    return "\n".join(out)


def student_cells(nb: Any) -> list[str]:
    """A notebook's code cells as a student runs them (not the minutes-long skip-grading
    training loop, which the grader does not run either)."""
    return [
        c.source
        for c in nb.cells
        if c.cell_type == "code" and "skip-grading" not in c.metadata.get("tags", [])
    ]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fashion_mnist(tmp_path_factory.mktemp("fmnist"), n_train=200, n_test=100)


@pytest.fixture(scope="module")
def setup_cell(student_bundle: Path) -> str:
    """The template's own setup cell, as students get it."""
    nb = nbformat.read(student_bundle / "template.ipynb", as_version=4)
    tagged = [c for c in nb.cells if TAG in c.metadata.get("tags", [])]
    assert "check(" in tagged[1].source  # the template has check cells after its exercises
    return str(tagged[0].source)


def test_in_a_kernel_with_only_the_self_check_file(
    student_bundle: Path, setup_cell: str, data: Path, tmp_path: Path
) -> None:
    colab = tmp_path / "content"  # what Colab's file panel shows: the uploaded file only
    colab.mkdir()
    shutil.copy(student_bundle / WHEEL, colab / WHEEL)
    mistake = scenarios.KNOWN_MISTAKES["km_threshold0"][2]  # compares probabilities with 0
    cells = [
        f"{NO_HARNESS}\nimport glob, os\n\nprint(os.listdir('.'), glob.glob('**/*.ipynb'))",
        setup_cell,
        "import torch\n\n" + mistake,
        'check("accuracy")',
        "import intro_ann_check\nprint(intro_ann_check.__file__)",
        RAISES,
        "import json\n_r = check('accuracy')\nprint(json.dumps(_r.to_dict()['tests'][0]['error']))",
        *student_cells(notebook(CORRECT)),
        "check()",
    ]
    nb = run_in_kernel(cells, colab, data)
    errors = [outputs(c, "error") for c in nb.cells if outputs(c, "error")]
    assert not errors, errors
    assert outputs(nb.cells[0], "stdout").strip() == f"['{WHEEL}'] []"
    assert outputs(nb.cells[4], "stdout").startswith(str(colab / WHEEL))  # zip-imported
    text, page = outputs(nb.cells[3], "text/plain").strip(), outputs(nb.cells[3], "text/html")
    assert text.startswith("0/4. To fix: `accuracy`.")
    assert "FAIL accuracy: a Sigmoid model's (N, 1) probabilities" in text
    assert "compare the probabilities with the threshold" in text  # the named mistake's hint
    assert "srcdoc=" not in page and 'class="grader-check"' in page  # compact, no frame (#34.7)
    assert page.count("threshold 0 on probabilities") == 1 and "failed" in page
    # #34.6: the student's frames only, none of the wheel's (runtime.py headed them)
    error = json.loads(outputs(nb.cells[6], "stdout"))
    assert [f["name"] for f in error["frames"]] == ["accuracy"], error
    full = outputs(nb.cells[-1], "text/plain").strip()
    assert full.startswith("41/41: every check passed."), full
    assert full.count("ok   ") == 9


def _scenario_cells(submissions: Path, cwd: Path) -> dict[str, list[str]]:
    """Each scenario as a student's notebook runs it (a module: imported from beside it)."""
    out: dict[str, list[str]] = {}
    for path in sorted(submissions.rglob("*")):
        name = path.parent.name if path.parent != submissions else path.stem
        if name in NOT_IN_A_NOTEBOOK or path.name == "mylib.py":
            continue
        if path.suffix == ".ipynb":
            out[name] = student_cells(nbformat.read(path, as_version=4))
        elif path.suffix == ".py":
            (cwd / f"sub_{path.stem}.py").write_text(path.read_text())
            out[name] = [f"from sub_{path.stem} import *"]
    shutil.copy(submissions / "folder_student" / "mylib.py", cwd / "mylib.py")
    # last: it hides every later traceback (nbgrader's cheat fixture)
    return dict(sorted(out.items(), key=lambda kv: kv[0] == "hides_tracebacks"))


def _in_notebook_results(
    submissions: Path, student_bundle: Path, setup_cell: str, data: Path, cwd: Path
) -> dict[str, list[dict[str, Any]]]:
    shutil.copy(student_bundle / WHEEL, cwd / WHEEL)
    cells, names = [NO_HARNESS], []
    for name, body in _scenario_cells(submissions, cwd).items():
        names.append(name)
        dump = (
            "_r = check()\nprint(" + repr(MARK + name + MARK) + " + __import__('json').dumps("
            "[{k: t[k] for k in ('name', 'outcome', 'score', 'output', 'mistake')} "
            "for t in _r.to_dict()['tests']]))"
        )
        cells += ["%reset -f", setup_cell, *body, dump]
    nb = run_in_kernel(cells, cwd, data, timeout=300)
    found = {}
    for c in nb.cells:
        text = outputs(c, "stdout")
        if MARK in text:
            _, name, payload = text.split(MARK)
            found[name] = json.loads(payload)
    assert sorted(found) == sorted(names)  # every scenario's check() ran to its end
    return found


# Where grading's hidden checks decide which known mistake a public check's result shows, the
# in-notebook check, which has the public evidence only, names another or none. Known cases:
DECIDED_BY_HIDDEN = {
    ("mixed_b", "perceptron_train"): "w = 0 on the AND gate is also what updating with the "
    "prediction gives; hidden checks contradict it (in the notebook: a possible mistake)",
}


def _cells_unnumbered(test: dict[str, Any]) -> dict[str, Any]:
    """A check's verdict without the execution counts a message may name (``Cell In[12]``):
    the notebook runs every scenario in one kernel, grading each in its own."""
    return {**test, "output": re.sub(r"Cell In\[\d+\]", "Cell In[N]", test["output"])}


def _details(message: str) -> str:
    """A message without the named mistake in front of it."""
    return message.split(" Details: ", 1)[-1]


def test_agrees_with_grading_on_every_scenarios_public_checks(
    graded: GradedRun, submissions: Path, student_bundle: Path, setup_cell: str, data: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    """Outcome, points, message and named mistake of every public check, as grade reported
    them. Two differences are by design: where a stub is missing because the cell defining it
    failed, grading names that cell's error (it saw every cell run), check() sees only the
    namespace and says the name is not defined; and DECIDED_BY_HIDDEN. And a check that runs
    past its limit: the notebook, in the student's own process, says which line it was on
    (#34.5); grading's message stops before that (its kernel's interrupt is the harness's)."""
    mine = _in_notebook_results(submissions, student_bundle, setup_cell, data, tmp_path)
    differ, explained, by_hidden, compared, timed_out, modules = [], 0, set(), 0, 0, 0
    for name, tests in mine.items():
        graded_tests = {t["name"]: t for t in graded.reports[name]["tests"] if not t["hidden"]}
        assert [t["name"] for t in tests] == list(graded_tests), name
        for t in tests:
            g = graded_tests[t["name"]]
            compared += 1
            want = _cells_unnumbered({k: g[k] for k in ("outcome", "score", "output", "mistake")})
            got = _cells_unnumbered({k: t[k] for k in ("outcome", "score", "output", "mistake")})
            if got == want:
                continue
            if got["outcome"] == want["outcome"] == "timeout":  # by design: see the docstring
                assert got["output"].startswith(want["output"] + " It was running `")
                timed_out += 1
            elif got["outcome"] == want["outcome"] == "missing":
                assert got["output"].endswith("look for an error in the cell that defines it).")
                # a module's: grading says how a module stops; the notebook imported it
                modules += "Define it in your module" in want["output"]
                explained += "Define it in your module" not in want["output"]
            elif (name, g["stub"]) in DECIDED_BY_HIDDEN:
                assert (got["outcome"], got["score"]) == (want["outcome"], want["score"])
                assert _details(got["output"]) == _details(want["output"])
                by_hidden.add((name, g["stub"]))
            else:
                differ.append((name, t["name"], want, got))
    assert not differ, differ
    assert by_hidden == set(DECIDED_BY_HIDDEN) and timed_out >= 1 and modules >= 1
    assert len(mine) >= 36 and compared == 9 * len(mine) and explained <= 3, (compared, explained)
