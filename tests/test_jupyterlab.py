"""The in-notebook check as a student sees it (#34): the built bundle's set-up cell and wheel in
a real JupyterLab (its own venv, without the harness) in headless Chromium, asserted on the
rendered page. One server and one browser for the whole module. The screenshots in docs/images/
are this test's: ``GRADER_SHOTS=docs/images pytest tests/test_jupyterlab.py`` takes them again
(by default they go to the run's temporary folder, so a test run leaves the tree as it was).

What each part holds: a single check is compact plain HTML (the mistake named once, no frame,
no in-page link); ``check()`` shows the full page in a frame whose links stay inside it and
whose height is its content's, after a section opens and after loading in a background tab;
an untrusted copy of the saved notebook still shows the verdicts."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from tests import lab
from tests.conftest import CORRECT
from tests.scenarios import KNOWN_MISTAKES

pytestmark = [pytest.mark.kernel, pytest.mark.skipif(bool(lab.missing()), reason=lab.missing())]
WHEEL = "intro_ann_check-1.0.0-py3-none-any.whl"
IMPORTS = "import numpy as np\nimport torch\nfrom torch import nn"
NO_HARNESS = (
    "try:\n    import graders\n    print('HARNESS IMPORTABLE')\nexcept ImportError:\n    pass\n"
)
BUGGY_ACCURACY = KNOWN_MISTAKES["km_threshold0"][2].replace(
    "    preds =", "    print('threshold used: 0')\n    preds =", 1
)
ONE = 3 + len(CORRECT)  # buggy.ipynb's check("accuracy") code cell; check() after it
ALL = ONE + 1
# the frame's content height and its own height, in CSS pixels
MEASURE = ("var f=arguments[0];var d=f.contentDocument.documentElement;"
           "return [f.getBoundingClientRect().height, Math.ceil(d.getBoundingClientRect().height),"
           " d.scrollHeight, f.clientHeight]")  # fmt: skip


def _notebook(path: Path, setup: str, cells: list[str]) -> None:
    nb = new_notebook(cells=[new_code_cell(c) for c in [NO_HARNESS, setup, IMPORTS, *cells]])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("GRADER_SHOTS")
    return Path(where).resolve() if where else tmp_path_factory.mktemp("shots")


@pytest.fixture(scope="module")
def page(student_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("student")
    shutil.copy(student_bundle / WHEEL, root / WHEEL)
    tmpl = nbformat.read(student_bundle / "template.ipynb", as_version=4)
    setup = next(c.source for c in tmpl.cells if "self-check" in c.metadata.get("tags", []))
    others = [CORRECT[s] for s in CORRECT if s != "accuracy"]
    _notebook(root / "buggy.ipynb", setup,
              [*others, BUGGY_ACCURACY, 'check("accuracy")', "check()"])  # fmt: skip
    _notebook(root / "correct.ipynb", setup, [*CORRECT.values(), "check()"])
    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with lab.jupyterlab(root, root.parent / "lab.log", env) as page:
        yield page


def _shown(page: Any, index: int, words: str) -> Any:
    """The output area of code cell ``index`` once its text holds ``words``."""
    area = page.outputs(index)
    text = page.js("return arguments[0].textContent", area) if area else ""
    return area if words in " ".join(text.split()) else None


def test_the_kernel_has_no_harness_and_a_single_check_is_compact(page: Any, shots: Path) -> None:
    """#34.7: a failed check("accuracy") is a few lines: the check's line with its mistake
    (named once), what to change, its cases; no frame, no in-page link, no grade-report
    header. Before: a 551 px page in a frame with the mistake three times."""
    page.open("buggy.ipynb")
    page.run_all()
    first = page.outputs(0).text
    assert "HARNESS IMPORTABLE" not in first
    out = page.outputs(ONE)  # check("accuracy")
    text = out.text
    assert "accuracy" in text and "✗" in text
    assert text.count("threshold 0") == 1, text  # the mistake, once
    assert "Possible mistake: threshold 0" in text
    assert not out.find_elements("css selector", "iframe")
    assert not out.find_elements("css selector", "a[href^='#']")
    for header in ("Feedback for", "Status:", "Graded by"):
        assert header not in text
    height = page.js("return arguments[0].getBoundingClientRect().height", out)
    assert height < 551, height
    page.shot(out, shots / "check-accuracy-jupyterlab.png")


def test_the_full_page_fits_its_frame_and_keeps_its_links(page: Any, shots: Path) -> None:
    """#34.1 and #34.3: check()'s frame is as tall as its page, also after a section opens;
    a "What to fix first" link scrolls to its card inside the frame instead of loading the
    notebook's URL in it. The compact copy is hidden where the frame shows."""
    out = page.outputs(ALL)  # check()
    frame = lab.wait_for(lambda: out.find_elements("css selector", "iframe"), 10, "no frame")[0]
    time.sleep(0.5)
    fh, content, scroll, inner = page.js(MEASURE, frame)
    assert abs(fh - content) <= 3 and scroll <= inner + 1, (fh, content, scroll, inner)
    assert not page.js("return arguments[0].querySelector('.grader-check-rows').offsetParent", out)
    assert "To fix: " in out.text  # the headline stays above the frame
    page.shot(out, shots / "check-all-jupyterlab.png")
    before = page.driver.current_url
    page.driver.switch_to.frame(frame)
    try:
        links = page.driver.find_elements("css selector", "nav a[href^='#']")
        assert links, "the page has no What to fix first links"
        links[0].click()
        printed = page.driver.find_elements("css selector", "details > summary")
        assert printed, "no section to open"
        printed[0].click()
        time.sleep(0.5)
        where = page.driver.execute_script("return location.href")
    finally:
        page.driver.switch_to.default_content()
    assert where == "about:srcdoc" and page.driver.current_url == before
    fh2, content2, scroll2, inner2 = page.js(MEASURE, frame)
    assert content2 > content and abs(fh2 - content2) <= 3 and scroll2 <= inner2 + 1


def test_a_frame_loaded_in_a_background_tab_fits_when_shown(page: Any) -> None:
    """#34.2: with two notebooks open, reload; the one behind loads its saved results while
    hidden. Before: its frames stayed an 8 px line."""
    page.command("docmanager:save")
    time.sleep(1)
    page.open("correct.ipynb")
    page.run_all()
    page.command("docmanager:save")
    time.sleep(1.5)
    page.driver.refresh()
    page.ready()
    lab.wait_for(lambda: page.current_path() == "correct.ipynb", 30, "correct.ipynb in front")
    page.open("buggy.ipynb")  # to the front: its frames were laid out hidden
    out = page.outputs(ALL)
    frame = lab.wait_for(lambda: out.find_elements("css selector", "iframe"), 20, "no frame")[0]
    lab.wait_for(lambda: page.js(MEASURE, frame)[0] > 100, 10, "the frame stayed collapsed")
    fh, content, scroll, inner = page.js(MEASURE, frame)
    assert abs(fh - content) <= 3 and scroll <= inner + 1, (fh, content, scroll, inner)


def test_an_untrusted_notebook_still_shows_the_verdicts(page: Any, shots: Path) -> None:
    """#34.4: the saved notebook edited outside Jupyter (its signature no longer matches)
    opens untrusted: JupyterLab drops the frame and its scripts; the compact verdicts stay."""
    saved = json.loads((page.root / "buggy.ipynb").read_text())
    saved["metadata"]["edited"] = "outside Jupyter"
    (page.root / "untrusted.ipynb").write_text(json.dumps(saved))
    page.open("untrusted.ipynb")
    one = lab.wait_for(lambda: _shown(page, ONE, "Possible mistake: threshold 0"), 30,
                       "the verdict is not shown")  # fmt: skip
    assert one.is_displayed()
    full = page.outputs(ALL)
    assert not full.find_elements("css selector", "iframe")
    assert "accuracy" in full.text and "✗" in full.text
    page.shot(full, shots / "check-all-untrusted-jupyterlab.png")
