"""``grader publish canvas``: each grade, a short comment and the feedback page, posted to
Canvas through its REST API (with ``canvasapi``), from a finished reports folder.

What this relies on (Canvas's REST API documentation, and canvasapi 3.x):
- ``GET /api/v1/courses/:course/assignments/:id`` (points possible);
- ``GET .../assignments/:a/submissions/:user_id?include[]=submission_comments`` (what was
  posted before: a rerun sends only what is not there yet);
- ``POST .../submissions/:user_id/comments/files`` then the upload it answers with: a file for a
  submission comment (canvasapi's ``Uploader``);
- ``PUT .../submissions/:user_id`` with ``submission[posted_grade]``, ``comment[text_comment]``
  and ``comment[file_ids][]``: the grade and one comment holding the text and the page;
- throttling: 403 "Rate Limit Exceeded" (older Canvas) or 429: waited out with backoff.
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

from .errors import UsageError
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
        from canvasapi.exceptions import CanvasException, ResourceDoesNotExist, Unauthorized
        from requests.exceptions import RequestException

        try:
            self.assignment = self.call(
                lambda: self.canvas.get_course(course).get_assignment(assignment)
            )
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


def _one(client: _Client, g: Graded, user_id: str, dry_run: bool) -> str:
    """Send what Canvas lacks for one report: 'sent', 'unchanged' (or 'would send')."""
    points = getattr(client.assignment, "points_possible", None)
    grade = g.points(float(points) if points else None)
    text = comment(g)
    page = g.feedback_page() if g.status == "graded" else b""
    name = f"feedback-{hashlib.sha256(page).hexdigest()[:10]}.html"
    sub = client.submission(user_id)
    files, texts = _posted(sub)
    send: dict[str, Any] = {}
    if grade is not None and (sub.score is None or abs(float(sub.score) - grade) > 1e-9):
        send["submission"] = {"posted_grade": f"{grade:g}"}
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


def publish_canvas(
    reports: list[Graded], *, url: str, course: str, assignment: str, token: str,
    dry_run: bool = False, backoff: float = 1.0, progress: Callable[[str], None] = print,
) -> Published:  # fmt: skip
    """Post each Canvas student's grade, comment and page; resumable (a rerun sends only what
    Canvas lacks)."""
    from canvasapi.exceptions import ResourceDoesNotExist

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
        (done.unchanged if what == "unchanged" else done.sent).append(g.id)
        progress(f"[{i}/{len(todo)}] {g.id}: {what}")
    done.retries = client.retries
    return done
