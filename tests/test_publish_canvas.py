"""`grader publish canvas` against the stand-in answering as Canvas does (#33.9-13): a student
Canvas refuses is reported with its reason and the others go on; a late-policy rerun sends
nothing; a letter-graded or GPA assignment gets points; pass/fail takes only 0 or full
points; a bad token says what to do. No kernel: reports are built as ``grader grade`` writes
them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graders.errors import UsageError
from graders.lms.export import Graded
from graders.lms.publish_canvas import publish_canvas
from tests.canvas_standin import TOKEN, State, serve


def _graded(tmp: Path, uid: str, score: float) -> Graded:
    folder = tmp / f"s{uid}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "feedback.html").write_text(f"<p>{uid}</p>" + "x" * 2000)
    report: dict[str, Any] = {
        "submission": {"id": folder.name, "path": f"canvas.zip:s_{uid}_{uid}0_hw.ipynb",
                       "student": f"s{uid}", "student_id": uid},
        "assignment": {"name": "intro_ann", "title": "Intro ANN"},
        "status": "graded", "score": score, "max_score": 100.0, "tests": [],
    }  # fmt: skip
    return Graded(report, folder)


@pytest.fixture
def canvas() -> Iterator[tuple[str, State]]:
    server, state = serve()
    state.users = {"1001", "1002", "1003"}
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()


def _publish(url: str, reports: list[Graded], token: str = TOKEN) -> list[str]:
    done = publish_canvas(reports, url=url, course="7", assignment="4242", token=token,
                          backoff=0.01, progress=lambda _: None)  # fmt: skip
    return done.lines(dry_run=False)


def test_a_refused_student_is_reported_and_the_others_go_on(
    canvas: tuple[str, State], tmp_path: Path
) -> None:
    """#33.9: 401 for a student the assignment is not assigned to; 400 for a grade the
    grading type refuses (pass/fail and 70 points)."""
    url, state = canvas
    state.unassigned = {"1002"}
    reports = [_graded(tmp_path, u, s) for u, s in (("1001", 80), ("1002", 90), ("1003", 60))]
    lines = _publish(url, reports)
    assert state.scores == {"1001": 40.0, "1003": 30.0}
    assert any("1002" in line and "not authorized" in line for line in lines), lines
    assert sorted(state.throttled) == ["GET 403", "PUT 403"]  # waited out, as Canvas throttles
    state.grading_type = "pass_fail"
    state.scores.clear()
    reports = [_graded(tmp_path, "1001", 100), _graded(tmp_path, "1003", 70)]
    lines = _publish(url, reports)
    assert state.scores == {"1001": 50.0}  # complete: full points
    assert any("1003" in line and "pass/fail" in line for line in lines), lines


def test_a_late_policy_rerun_sends_nothing(canvas: tuple[str, State], tmp_path: Path) -> None:
    """#33.10: Canvas's `score` is the entered score less the late deduction."""
    url, state = canvas
    reports = [_graded(tmp_path, "1001", 80), _graded(tmp_path, "1002", 60)]
    _publish(url, reports)
    state.late = {"1001": 5.0, "1002": 3.0}
    sent = list(state.writes)
    lines = _publish(url, reports)
    assert state.writes == sent and "already there, nothing sent: 2" in lines


def test_a_letter_graded_assignment_gets_points(canvas: tuple[str, State], tmp_path: Path) -> None:
    """#33.11: 4 points on a GPA scheme is 4 points, not the scheme's 4.0 (94 %)."""
    url, state = canvas
    state.grading_type = "gpa_scale"
    _publish(url, [_graded(tmp_path, "1001", 8)])  # 8/100 of 50 points: 4
    assert state.scores == {"1001": 4.0}


def test_a_bad_token_says_what_to_do(canvas: tuple[str, State], tmp_path: Path) -> None:
    """#33.12: Canvas's 401 carries WWW-Authenticate; the message names the fix."""
    url, _ = canvas
    with pytest.raises(UsageError, match="New Access Token"):
        _publish(url, [_graded(tmp_path, "1001", 80)], token="expired")
