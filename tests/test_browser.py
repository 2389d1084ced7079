"""The HTML pages in a real headless Chromium: no console errors, no network, plots and links."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import GradedRun

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
]
# Chromium's own background traffic, not the page's.
BROWSER_HOSTS = re.compile(
    r"https?://([a-z0-9-]+\.)*(google\.com|googleapis\.com|gstatic\.com|gvt1\.com)/"
)


def open_page(page: Path, shots: Path) -> tuple[str, list[str], list[str]]:
    """Load ``page``; return its DOM after scripts, its console messages, its network URLs."""
    shots.mkdir(parents=True, exist_ok=True)
    name = f"{page.parent.name}-{page.stem}"
    net = shots / f"{name}.netlog.json"
    profile = shots / f"profile-{name}"
    base = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
        "--window-size=420,2400",  # a phone's width
    ]  # fmt: skip
    dom = subprocess.run(
        [*base, f"--log-net-log={net}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    subprocess.run(
        [*base, f"--screenshot={shots / (name + '.png')}", page.as_uri()],
        capture_output=True, timeout=120,
    )  # fmt: skip
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    urls = set(re.findall(r'"url":"(https?://[^"]+)"', net.read_text())) if net.exists() else set()
    return dom.stdout, console, sorted(u for u in urls if not BROWSER_HOSTS.match(u))


def test_the_checks_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad" / "page.html"
    bad.parent.mkdir()
    bad.write_text(
        '<!doctype html><html><body><img src="http://example.com/x.png">'
        '<script>console.error("broken")</script></body></html>'
    )
    _, console, urls = open_page(bad, tmp_path / "shots")
    assert any("broken" in line for line in console)
    assert "http://example.com/x.png" in urls


@pytest.mark.parametrize("sub", ["carol", "correct", "template", "broken", "loop_in_function"])
def test_feedback_pages(
    graded: GradedRun, sub: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shots = tmp_path_factory.getbasetemp() / "screenshots"
    dom, console, urls = open_page(graded.out / sub / "feedback.html", shots)
    assert console == [] and urls == []
    assert "<h1>" in dom and 'class="score"' in dom
    assert (shots / f"{sub}-feedback.png").stat().st_size > 10_000
    if sub in ("carol", "correct"):
        assert dom.count("<svg") >= 2  # the parabola and the loss curve
        assert 'role="img"' in dom and "<desc>" in dom  # text alternatives for the plots
        # captions: the assignment's own words, and the default for a plot without one
        assert "<figcaption>Did we find the minimum? Your steps beside" in dom
        assert "<figcaption>The loss after each of the 100 epochs, yours beside the" in dom
        # titles under their stub's heading, without the stub again
        assert "</span> a single step</h3>" in dom
    if sub == "carol":  # her threshold slip, named above the numbers
        card = dom[dom.index("Likely mistake: threshold 0 on probabilities") :]
        assert card.index("Your accuracy matches predictions") < card.index("expected")
        # the page leads with what to fix: links to each check that lost points, before any
        # check's card, each to a card on the page; code in messages shows as code
        fix = dom.index("What to fix first")
        assert fix < dom.index('class="card passed"') and fix < dom.index('class="card failed"')
        links = re.findall(r'<a href="#([^"]+)">', dom[fix:])
        assert links and all(f'id="{target}"' in dom for target in links)
        assert "To fix: <code>gradient_descent</code>" in dom and "To fix: `" not in dom
    else:
        assert "Likely mistake" not in dom
    if sub == "correct":
        assert "What to fix first" not in dom


def test_summary_page(graded: GradedRun, tmp_path_factory: pytest.TempPathFactory) -> None:
    shots = tmp_path_factory.getbasetemp() / "screenshots"
    dom, console, urls = open_page(graded.out / "summary.html", shots)
    assert console == [] and urls == []
    assert "<svg" in dom  # the histogram
    known = dom[dom.index("<h2>Known mistakes</h2>") : dom.index("<h2>Most common failures")]
    assert "threshold 0 on probabilities" in known and 'href="carol/feedback.html"' in known
    links = re.findall(r'href="([^"]+/feedback\.html)"', dom)
    assert {link.split("/")[0] for link in links} == set(graded.reports)
    assert all((graded.out / link).is_file() for link in links)
