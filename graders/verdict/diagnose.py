"""Naming a known mistake from a student's results (see :mod:`graders.grading.mistakes` for how an
assignment declares them and how their results are computed).

Light on purpose: the in-notebook check (:mod:`graders.student.selfcheck`) uses it in the student's
kernel, with only the standard library and numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .checks import Check
from .model import CheckResult, Outcome
from .results import ProbeKind, ProbeResult

Results = dict[str, dict[str, ProbeResult]]  # mistake id -> check name -> its probe's result


@dataclass(frozen=True)
class Mistake:
    id: str  # the variant's function name
    stub: str
    title: str  # short, for the instructor's summary: "forgot optimizer.zero_grad()"
    explain: str  # what the student reads first: "Your losses match what happens when ..."
    hint: str  # what to do about it
    source: str  # the variant's definition, then ``<stub> = <id>``
    checks: tuple[str, ...]  # names of the checks it concerns

    def shown(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "explain": self.explain, "hint": self.hint}


def matches(check: Check, mine: ProbeResult | None, got: ProbeResult) -> bool:
    """Does the student's result equal this mistake's, by the check's own comparator? Cases:
    every case the student returned must match (and at least one)."""
    if (
        mine is None
        or mine.kind != ProbeKind.VALUE
        or got.kind != ProbeKind.VALUE
        or mine.failed_cases
    ):
        return False
    if check.cases or got.failed_cases:
        if not isinstance(mine.value, dict) or not isinstance(got.value, dict) or not got.value:
            return False
        return all(k in mine.value and _same(check, mine.value[k], v) for k, v in got.value.items())
    return _same(check, mine.value, got.value)


def _same(check: Check, mine: object, got: object) -> bool:
    """Equal by the check's comparator; a value it cannot handle is no match."""
    try:
        return check.compare(mine, got, check.label).passed
    except Exception:  # a student's value: see score.compared
        return False


def diagnose(
    checks: Sequence[Check],
    tests: Sequence[CheckResult],
    probes: dict[str, ProbeResult],
    mistakes: tuple[Mistake, ...],
    results: Results,
    break_ties: bool = True,
) -> dict[str, Mistake]:
    """The known mistake each failed check's result shows, by check name. A mistake's support
    is +1 for each failed check it matches and -1 for each result of the submission that
    contradicts it (hidden checks count too: they only rank, and reveal nothing). Only a
    mistake with more support than contradiction is named (a coincidence on one check is not
    a diagnosis), and where several match one check (an accuracy of 0.5 can come from two
    slips), the best supported; the first in file order among equals, or none where
    ``break_ties`` is False (the in-notebook check, which sees the public checks only, does
    not guess). Nothing is named on a check whose feedback is "none"."""
    support = dict.fromkeys((m.id for m in mistakes), 0)
    for c, t in zip(checks, tests, strict=True):
        if t.outcome not in (Outcome.FAILED, Outcome.PASSED):
            continue
        for m in mistakes:
            if c.name in m.checks:
                same = matches(c, results.get(m.id, {}).get(c.name), probes[c.name])
                if t.outcome is Outcome.FAILED:
                    support[m.id] += 1 if same else -1
                elif not same:  # passed where the mistake would not have
                    support[m.id] -= 1
    named = {}
    for c, t in zip(checks, tests, strict=True):
        if t.outcome is not Outcome.FAILED or c.feedback == "none":
            continue
        fits = [
            m
            for m in mistakes
            if c.name in m.checks
            and support[m.id] > 0
            and matches(c, results.get(m.id, {}).get(c.name), probes[c.name])
        ]
        best = max((support[m.id] for m in fits), default=0)
        if not break_ties and sum(support[m.id] == best for m in fits) > 1:
            continue  # evidence that cannot tell them apart names none
        if fits:  # max keeps the first (file order) among equals
            named[c.name] = max(fits, key=lambda m: support[m.id])
    return named


def name_mistakes(
    checks: Sequence[Check],
    tests: Sequence[CheckResult],
    probes: dict[str, ProbeResult],
    mistakes: tuple[Mistake, ...],
    results: Results,
    break_ties: bool = True,
) -> None:
    """Put each named mistake on its check's verdict: first in what the student reads, then
    the details. Never changes a score. (Grading and the in-notebook check both do this.)"""
    named = diagnose(checks, tests, probes, mistakes, results, break_ties)
    for t in tests:
        known = named.get(t.name)
        if known is not None:
            t.mistake = known.shown()
            t.message = f"{known.explain}: {known.hint}. Details: {t.message}"
