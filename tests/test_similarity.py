"""The similarity report: planted copies stand out from independent solutions, per stub and
overall; the page opens offline and shows the pairs side by side; no score changes."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from graders.analysis.similarity import OVERALL, Code, compare, extract, pairs_on
from tests.conftest import GradedRun, run_grader
from tests.similarity_class import INDEPENDENT, PLANTED_PAIRS, notebooks
from tests.test_browser import CHROMIUM, open_page

pytest.importorskip("copydetect")
ROOT = Path(__file__).resolve().parent.parent
STUBS = (
    "gradient_descent", "perceptron_predict", "perceptron_train", "bce_loss", "train",
    "accuracy", "train_epoch", "evaluate",
)  # fmt: skip


@pytest.fixture(scope="module")
def klass(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from build_template import STUBS as TEMPLATE_STUBS
    from build_template import notebook, write

    folder = tmp_path_factory.mktemp("class")
    for name, nb in notebooks(notebook, TEMPLATE_STUBS).items():
        write(folder / f"{name}.ipynb", nb)
    return folder


def _codes(folder: Path) -> tuple[list[Code], Code]:
    template = extract(
        "template", (ROOT / "assignments/intro_ann/template.ipynb").read_bytes(), "notebook", STUBS
    )
    codes = [
        extract(p.stem, p.read_bytes(), "notebook", STUBS, template)
        for p in sorted(folder.glob("*.ipynb"))
    ]
    return codes, template


def _key(a: str, b: str) -> frozenset[str]:
    return frozenset((a, b))


def test_planted_copies_rank_above_every_independent_pair(klass: Path) -> None:
    codes, template = _codes(klass)
    c = compare(codes, template, STUBS)
    planted = {_key(a, b) for a, b, _ in PLANTED_PAIRS}
    ranked = [_key(p.a, p.b) for p in c.pairs]
    independent = [i for i, k in enumerate(ranked) if k not in planted]
    assert all(ranked.index(k) < independent[0] for k in planted), ranked[:4]
    for a, b, stub in PLANTED_PAIRS:  # and on each stub copied, above every independent pair
        copied = [stub] if stub else [s for s in STUBS if s in c.pairs[0].stubs]
        for s in copied:
            on = [_key(p.a, p.b) for p in pairs_on(c, s)]
            first_independent = next(i for i, k in enumerate(on) if k not in planted)
            assert on.index(_key(a, b)) < first_independent, (s, on[:4])
    # independent solutions of a short stub do look alike: the class's usual says so
    assert c.spreads["train"].median > 0.1 and c.spreads[OVERALL].pairs == len(c.pairs)


def test_what_a_copy_changes_does_not_count(klass: Path) -> None:
    codes, _ = _codes(klass)
    zoe = next(c for c in codes if c.sid == "zoe")
    ben = next(c for c in codes if c.sid == "ben")
    # comments, blank lines and docstrings are gone; names stay (the detector masks them)
    assert "#" not in zoe.overall and "office hours" not in zoe.overall
    assert "hist_list" in zoe.stubs["gradient_descent"]
    assert zoe.stubs.keys() == ben.stubs.keys() == set(INDEPENDENT["ben"])  # template stubs out
    # zoe's evaluate is split over two cells (a helper): her helper is in the overall code
    assert "_count" in zoe.stubs["evaluate"] and "def _count" in zoe.overall


def test_a_broken_cell_and_magics_lose_nothing_else() -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(
        cells=[
            new_code_cell("%matplotlib inline\n!pip list\nimport numpy as np"),
            new_code_cell("def train(model):\n    return [1.0]  # mine"),
            new_code_cell("def oops(:\n    pass"),
            new_code_cell("def evaluate(x):\n    return " + "-" * 100_000 + "1"),  # hostile
        ]
    )
    code = extract("s", nbformat.writes(nb).encode(), "notebook", ("train", "evaluate"))
    assert code.stubs == {"train": "def train(model):\n    return [1.0]"}
    assert code.notes == (
        "code cell 3 is not Python: left out",
        "code cell 4 is not Python: left out",
    )
    source = b"def evaluate(m):\n    '''doc'''\n    return 1\n"
    module = extract("m", source, "module", ("evaluate",))
    assert module.stubs == {"evaluate": "def evaluate(m):\n    return 1"}


@pytest.mark.kernel  # a headless browser, no kernel: with the slow tests
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_the_cli_writes_json_and_a_page_that_opens_offline(klass: Path, tmp_path: Path) -> None:
    out = tmp_path / "sim"
    proc = run_grader(
        ["similarity", "intro_ann", str(klass), "--out", str(out), "--top", "5"], ROOT, tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "8 submissions, 28 pairs" in proc.stdout
    data = json.loads((out / "similarity.json").read_text())
    assert len(data["pairs"]) == 5 and data["pairs_total"] == 28
    first = data["pairs"][0]
    assert {first["a"], first["b"]} == {"ben", "zoe"} and first["flagged"]
    assert 0 <= first["score"] <= 1 and first["stubs"]["train"]["score"] == 1.0
    assert "never a verdict" in data["note"] and data["detector"]["name"] == "copydetect"
    assert data["by_stub"]["train"][0]["score"] == 1.0
    assert first["most_unusual"] in first["stubs"]
    dom, console, urls = open_page(out / "similarity.html", tmp_path / "shots")
    assert console == [] and urls == []
    assert 'id="not-a-verdict"' in dom and "no score was changed" in dom
    card = dom[dom.index('id="ben--zoe"') :]
    assert '<pre class="left">' in card and '<pre class="right">' in card
    assert card.count("<mark>") >= 8  # the shared regions, on both sides of each stub


@pytest.mark.kernel
def test_grade_links_the_report_from_the_summary(graded: GradedRun) -> None:
    summary = (graded.out / "summary.html").read_text()
    assert 'href="similarity.html"' in summary
    data = json.loads((graded.out / "similarity.json").read_text())
    assert data["submissions"] >= 20
    # correct scenarios share the same code: their pairs are at the top, scores unchanged
    assert data["pairs"][0]["score"] == 1.0
    assert graded.reports["correct"]["score"] == 100


def test_without_copydetect_the_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from graders.analysis.similarity_report import require_detector
    from graders.errors import UsageError

    monkeypatch.setitem(sys.modules, "copydetect", None)  # import fails, as when not installed
    with pytest.raises(UsageError, match=r"pip install 'graders\[similarity\]'"):
        require_detector()


def test_a_submission_that_wrote_nothing_is_a_pair_with_nothing_in_common(
    klass: Path, tmp_path: Path
) -> None:
    """An untouched template shares no exercise with anyone: listed, not a crash."""
    from graders.analysis.similarity_report import Options, run
    from graders.intake.discover import discover
    from graders.spec.assignment import find_assignment

    subs = tmp_path / "subs"
    shutil.copytree(klass, subs)
    shutil.copy(ROOT / "assignments/intro_ann/template.ipynb", subs / "untouched.ipynb")
    found = discover([subs])
    data = run(find_assignment("intro_ann", ROOT), found, tmp_path / "out", Options(top=100))
    alone = [p for p in data["pairs"] if "untouched" in (p["a"], p["b"])]
    assert len(alone) == 8 and all(p["stubs"] == {} and p["most_unusual"] is None for p in alone)
    assert "no exercise in common" in (tmp_path / "out" / "similarity.html").read_text()
