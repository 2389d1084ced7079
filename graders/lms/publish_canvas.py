"""``grader publish canvas``: each grade, a short comment and the feedback page, posted to
Canvas through its REST API (with ``canvasapi``), from a finished reports folder.

What this relies on (Canvas's REST API documentation, and canvasapi 3.x):
- ``GET /api/v1/courses/:course/assignments/:id`` (points possible);
- ``GET .../assignments/:a/submissions/:user_id?include[]=submission_comments`` (what was
  posted before: a rerun sends only what is not there yet);
- ``POST .../submissions/:user_id/comments/files`` then the upload it answers with: a file for a
  submission comment (canvasapi's ``Uploader``);
- ``PUT .../submissions/:user_id`` with ``submission[posted_grade]``, ``comment[text_comment]``
  and ``comment[file_ids][]``: the grade and one comment holding the text and the page; the
  grade as the assignment's ``grading_type`` takes it (:func:`posted_grade`), compared first
  with the submission's ``entered_score`` (``score`` has a late deduction taken off);
- a student Canvas refuses (401: not assigned to them, or a moderated assignment; 400: a
  grade the grading type refuses) is reported with Canvas's words, and the others go on;
- throttling: 403 "Rate Limit Exceeded" (what Canvas sends), or 429: waited out with backoff;
- a bad token: 401 with ``WWW-Authenticate`` (canvasapi's ``InvalidAccessToken``).
Only reports that came from a Canvas download (their file names carry the Canvas user id) are
posted; a report with status ``error`` never is. The token comes from ``$CANVAS_TOKEN`` or a
file, never from the command line (it would stay in the shell's history and ``ps``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..errors import UsageError
from .export import Graded, comment

TOKEN_ENV = "CANVAS_TOKEN"
T = TypeVar("T")


@dataclass
class Published:
    sent: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    not_canvas: int = 0  # reports from plain files or another LMS
    retries: int = 0

    def lines(self, dry_run: bool) -> list[str]:
        verb = "would send" if dry_run else "sent"
        out = [f"{verb}: {len(self.sent)}", f"already there, nothing sent: {len(self.unchanged)}"]
        if self.not_canvas:
            out.append(f"{self.not_canvas} report(s) did not come from a Canvas download")
        if self.skipped:
            out.append(f"not sent ({len(self.skipped)}): " + "; ".join(self.skipped))
        if self.retries:
            out.append(f"throttled by Canvas {self.retries} time(s), each waited out")
        return out


def read_token(token_file: Path | None) -> str:
    if token_file is not None:
        try:
            return token_file.read_text().strip()
        except OSError as exc:
            raise UsageError(f"cannot read the token file {token_file}: {exc}") from exc
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise UsageError(f"no Canvas token: set ${TOKEN_ENV} or pass --token-file (Canvas: "
                         "Account > Settings > New Access Token)")  # fmt: skip
    return token


def _throttled(exc: Exception) -> bool:
    from canvasapi.exceptions import Forbidden, RateLimitExceeded

    return isinstance(exc, RateLimitExceeded) or (
        isinstance(exc, Forbidden) and "rate limit exceeded" in str(exc).lower()
    )


class _Client:
    """The few calls this needs, each retried with backoff while Canvas throttles."""

    def __init__(self, url: str, token: str, course: str, assignment: str, backoff: float):
        from canvasapi import Canvas

        with warnings.catch_warnings():  # http:// is for a local stand-in; Canvas is https
            warnings.filterwarnings("ignore", message="Canvas may respond unexpectedly")
            self.canvas = Canvas(url, token)
        self.backoff = backoff
        self.retries = 0
        from canvasapi.exceptions import (
            CanvasException,
            InvalidAccessToken,
            ResourceDoesNotExist,
            Unauthorized,
        )
        from requests.exceptions import RequestException

        try:
            self.assignment = self.call(
                lambda: self.canvas.get_course(course).get_assignment(assignment)
            )
        except InvalidAccessToken as exc:  # Canvas's 401 with WWW-Authenticate: the token
            raise UsageError(f"Canvas at {url} does not accept the token (expired, revoked or "
                             f"mistyped): make a new one (Account > Settings > New Access "
                             f"Token) and set ${TOKEN_ENV}") from exc  # fmt: skip
        except (Unauthorized, ResourceDoesNotExist) as exc:
            raise UsageError(f"Canvas at {url} refused course {course}, assignment "
                             f"{assignment}: {type(exc).__name__} (check the ids and that the "
                             "token's user teaches the course)") from exc  # fmt: skip
        except (CanvasException, RequestException) as exc:
            raise UsageError(f"cannot talk to Canvas at {url}: {exc}") from exc

    def call(self, what: Callable[[], T]) -> T:
        for attempt in range(8):
            try:
                return what()
            except Exception as exc:
                if not _throttled(exc) or attempt == 7:
                    raise
                self.retries += 1
                time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")

    def submission(self, user_id: str) -> Any:
        return self.call(
            lambda: self.assignment.get_submission(user_id, include=["submission_comments"])
        )

    def upload(self, sub: Any, name: str, data: bytes) -> int:
        from canvasapi.upload import Uploader

        url = (f"courses/{sub.course_id}/assignments/{sub.assignment_id}/submissions/"
               f"{sub.user_id}/comments/files")  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            ok, answer = self.call(lambda: Uploader(sub._requester, url, str(path)).start())
        if not ok:
            raise RuntimeError(f"Canvas did not take the upload of {name}: {answer}")
        return int(answer["id"])


def _posted(sub: Any) -> tuple[set[str], set[str]]:
    """The names of the files and the texts of the comments a submission has already."""
    comments = getattr(sub, "submission_comments", None) or []
    files = {a.get("display_name", "") for c in comments for a in c.get("attachments") or []}
    return files, {str(c.get("comment", "")) for c in comments}


def posted_grade(
    grading_type: str, grade: float, points: float | None
) -> tuple[dict[str, Any], str]:
    """What the PUT carries for ``grade`` under the assignment's ``grading_type`` (Canvas's
    Submissions API, ``submission[posted_grade]``), or why it carries none. Letter and GPA
    schemes would read a number that matches one of their values through the scheme
    (``3`` as a GPA): ``prefer_points_over_scheme`` keeps it points. Pass/fail takes only
    complete (full points) or incomplete (0)."""
    if grading_type == "not_graded":
        return {}, "the assignment is not graded in Canvas"
    if grading_type == "pass_fail":
        if grade == 0:
            return {"submission": {"posted_grade": "incomplete"}}, ""
        if points and abs(grade - points) < 1e-9:
            return {"submission": {"posted_grade": "complete"}}, ""
        return {}, f"a pass/fail assignment takes 0 or {points or 0:g} points, not {grade:g}"
    send: dict[str, Any] = {"submission": {"posted_grade": f"{grade:g}"}}
    if grading_type in ("letter_grade", "gpa_scale"):
        send["prefer_points_over_scheme"] = True
    return send, ""


def _entered(sub: Any) -> float | None:
    """The score as entered: Canvas's ``score`` has a late policy's deduction taken off."""
    value = getattr(sub, "entered_score", None)
    value = getattr(sub, "score", None) if value is None else value
    return None if value is None else float(value)


def _one(client: _Client, g: Graded, user_id: str, dry_run: bool) -> str:
    """Send what Canvas lacks for one report: 'sent', 'unchanged' (or 'would send')."""
    a = client.assignment
    points = getattr(a, "points_possible", None)
    grade = g.points(float(points) if points else None)
    text = comment(g)
    page = g.feedback_page() if g.status == "graded" else b""
    name = f"feedback-{hashlib.sha256(page).hexdigest()[:10]}.html"
    sub = client.submission(user_id)
    files, texts = _posted(sub)
    send: dict[str, Any] = {}
    entered = _entered(sub)
    if grade is not None and (entered is None or abs(entered - grade) > 1e-9):
        send, why = posted_grade(str(getattr(a, "grading_type", "points")), grade, points)
        if why:
            raise Refused(why)
    if (page and name not in files) or (not page and text not in texts):
        send["comment"] = {"text_comment": text}
    if not send:
        return "unchanged"
    if dry_run:
        return "would send"
    if "comment" in send and page:
        send["comment"]["file_ids"] = [client.upload(sub, name, page)]
    client.call(lambda: sub.edit(**send))
    return "sent"


class Refused(Exception):
    """Canvas refuses (or would refuse) this one student's grade; the others go on."""


def _reason(exc: Exception) -> str:
    """Canvas's words for a refusal (its JSON ``errors``, or the text it answered)."""
    detail: Any = getattr(exc, "message", None) or str(exc)
    if isinstance(detail, dict):
        errors = detail.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message", detail))[:300]
        if isinstance(errors, dict):
            return "; ".join(f"{k}: {v}" for k, v in errors.items())[:300]
    return str(detail)[:300]


def publish_canvas(
    reports: list[Graded], *, url: str, course: str, assignment: str, token: str,
    dry_run: bool = False, backoff: float = 1.0, progress: Callable[[str], None] = print,
) -> Published:  # fmt: skip
    """Post each Canvas student's grade, comment and page; resumable (a rerun sends only what
    Canvas lacks)."""
    from canvasapi.exceptions import (
        BadRequest,
        Forbidden,
        ResourceDoesNotExist,
        Unauthorized,
        UnprocessableEntity,
    )

    client = _Client(url.rstrip("/"), token, course, assignment, backoff)
    done = Published()
    todo = [(g, g.canvas) for g in reports]
    for i, (g, m) in enumerate(todo, 1):
        if m is None:
            done.not_canvas += 1
            continue
        if g.status == "error":
            done.skipped.append(f"{g.id} (the grader failed on it: regrade first)")
            continue
        try:
            what = _one(client, g, m.uid, dry_run)
        except ResourceDoesNotExist:
            done.skipped.append(f"{g.id} (Canvas has no submission of user {m.uid} here)")
            continue
        except (Unauthorized, BadRequest, Forbidden, UnprocessableEntity, Refused) as exc:
            # not assigned to them, a moderated assignment, a grade the type refuses
            done.skipped.append(f"{g.id} (Canvas refused user {m.uid}: {_reason(exc)})")
            progress(f"[{i}/{len(todo)}] {g.id}: refused ({_reason(exc)})")
            continue
        (done.unchanged if what == "unchanged" else done.sent).append(g.id)
        progress(f"[{i}/{len(todo)}] {g.id}: {what}")
    done.retries = client.retries
    return done
