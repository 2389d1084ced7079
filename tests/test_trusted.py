"""The reference's and the known mistakes' caches: editing one mistake reruns that mistake
only, and never the reference; a change the results depend on reruns them all."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from graders.grading import mistakes as mistakes_mod
from graders.grading.mistakes import Mistake, load_mistakes, mistake_results
from graders.grading.reference import cache_key
from graders.spec.assignment import Assignment, load_assignment
from graders.verdict.results import ProbeKind, ProbeResult

ROOT = Path(__file__).resolve().parent.parent
STEP = "xs.append(xs[-1] + lr * df(xs[-1]))"  # gd_ascent's step, in mistakes.py


@pytest.fixture
def home(tmp_path: Path) -> Assignment:
    for part in ("assignments", "reference"):
        shutil.copytree(ROOT / part / "intro_ann", tmp_path / part / "intro_ann")
    return load_assignment(tmp_path / "assignments" / "intro_ann")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_editing_mistakes_py_keeps_the_reference_cache_but_regrades(home: Assignment) -> None:
    key, fingerprint = cache_key(home, "cpu"), home.fingerprint()
    _edit(home.mistakes_path, STEP, STEP + "  # edited")
    assert cache_key(home, "cpu") == key  # the reference's results do not depend on it
    assert home.fingerprint() != fingerprint  # but the feedback does: a rerun regrades
    _edit(home.checks_path, "allclose(rtol=1e-4, atol=1e-6)", "allclose(rtol=2e-4, atol=1e-6)")
    assert cache_key(home, "cpu") != key


def test_only_the_edited_mistake_runs_again(
    home: Assignment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[list[str]] = []

    async def fake_run(
        a: Any, suite: Any, todo: tuple[Mistake, ...], seeds: Any, **kw: Any
    ) -> dict[str, dict[str, ProbeResult]]:
        ran.append([m.id for m in todo])
        return {m.id: {n: ProbeResult(ProbeKind.VALUE, value=1.0) for n in m.checks} for m in todo}

    monkeypatch.setattr(mistakes_mod, "run_mistakes", fake_run)
    suite = home.load_checks()

    def results(key: str) -> dict[str, Any]:
        known = load_mistakes(home.mistakes_path, suite)
        return asyncio.run(
            mistake_results(
                home, suite, known, {}, cache_dir=tmp_path / "cache", key=key, device="cpu",
                data=None,
            )
        )  # fmt: skip

    first = results("k1")
    assert len(ran[0]) == len(first) == 15
    results("k1")
    assert len(ran) == 1  # every mistake cached
    _edit(home.mistakes_path, STEP, STEP + "  # edited")
    again = results("k1")
    assert ran[1] == ["gd_ascent"] and again.keys() == first.keys()
    results("k2")  # the reference's key changed (checks, reference, runtime, libraries...)
    assert len(ran[2]) == 15
    # a damaged entry is computed again, not trusted
    damaged = next((tmp_path / "cache" / "mistakes").glob("*-k2-bce_sum-*.json"))
    damaged.write_text("{not json")
    results("k2")
    assert ran[3] == ["bce_sum"]
