"""A local stand-in for the few Canvas REST endpoints ``grader publish canvas`` uses, on
127.0.0.1 only, answering as Canvas answers (the answers were seen from real Canvas by the
issue that asked for them, #33, and are what canvasapi 3.x's ``Requester.request`` in
``canvasapi/requester.py`` tells apart). It records every write. As Canvas:
- throttling is canvas-lms's ``RequestThrottle#rate_limit_exceeded``
  (``app/middleware/request_throttle.rb``): a 403, ``text/plain; charset=utf-8``, the body
  ``403 Forbidden (Rate Limit Exceeded)\n`` and ``X-Rate-Limit-Remaining: 0.0``, from the
  middleware in front of every endpoint (no 429);
- a bad token is a 401 with ``WWW-Authenticate: Bearer realm="canvas-lms"`` (canvasapi raises
  ``InvalidAccessToken``); a student the assignment is not assigned to, or a moderated
  assignment, answers the PUT with a plain 401 (``Unauthorized``); a grade the grading type
  refuses with a 400;
- a submission's ``score`` is its ``entered_score`` less the late policy's deduction;
- letter and GPA schemes read a number that matches one of their values through the scheme
  unless ``prefer_points_over_scheme`` is set; pass/fail takes complete/incomplete.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TOKEN = "test-token-123"
API = r"/api/v1/courses/(?P<course>\d+)/assignments/(?P<a>\d+)"


@dataclass
class State:
    points: float = 50.0
    users: set[str] = field(default_factory=lambda: {"1001", "1002"})
    scores: dict[str, float | None] = field(default_factory=dict)
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    files: dict[int, dict[str, Any]] = field(default_factory=dict)
    writes: list[str] = field(default_factory=list)
    throttled: list[str] = field(default_factory=list)
    to_throttle: list[str] = field(default_factory=lambda: ["GET", "PUT"])  # the first of each
    grading_type: str = "points"
    unassigned: set[str] = field(default_factory=set)  # the PUT answers 401
    late: dict[str, float] = field(default_factory=dict)  # user -> points deducted
    gpa: dict[str, float] = field(default_factory=lambda: {"4": 0.94, "3": 0.84, "2": 0.74})


class Handler(BaseHTTPRequestHandler):
    state: State

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        if self.path.startswith("/upload/"):
            return True  # Canvas's upload URLs carry their own token in the URL
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            body = {"errors": [{"message": "Invalid access token."}]}
            self._send(401, body, {"WWW-Authenticate": 'Bearer realm="canvas-lms"'})
            return False
        return True

    def _throttle(self, method: str) -> bool:
        if method not in self.state.to_throttle:
            return False
        self.state.to_throttle.remove(method)
        self.state.throttled.append(f"{method} 403")
        data = b"403 Forbidden (Rate Limit Exceeded)\n"
        self.send_response(403)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("X-Rate-Limit-Remaining", "0.0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return True

    def _submission(self, a: str, user: str) -> dict[str, Any]:
        entered = self.state.scores.get(user)
        score = None if entered is None else entered - self.state.late.get(user, 0.0)
        return {
            "id": int(user) * 10, "user_id": int(user), "assignment_id": int(a),
            "score": score, "entered_score": entered,
            "submission_comments": self.state.comments.get(user, []),
        }  # fmt: skip

    def _score(self, grade: str, prefer_points: bool) -> float | None:
        """The score Canvas stores for a posted grade, or None for one it refuses (400)."""
        st = self.state
        if st.grading_type == "pass_fail":
            return {"complete": st.points, "incomplete": 0.0}.get(grade)
        scheme = st.grading_type in ("letter_grade", "gpa_scale") and not prefer_points
        if scheme and grade in st.gpa:  # a scheme value: its share of the points
            return st.points * st.gpa[grade]
        try:
            return float(grade)
        except ValueError:
            return None

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        if not self._authorized() or self._throttle("GET"):
            return
        path = urlparse(self.path).path
        if m := re.fullmatch(API, path):
            points = self.state.points
            self._send(200, {"id": int(m["a"]), "course_id": int(m["course"]),
                             "name": "intro_ann", "points_possible": points,
                             "grading_type": self.state.grading_type})  # fmt: skip
        elif m := re.fullmatch(API + r"/submissions/(?P<u>\d+)", path):
            if m["u"] not in self.state.users:
                self._send(404, {"errors": [{"message": "The specified resource does not exist."}]})
            else:
                self._send(200, self._submission(m["a"], m["u"]))
        elif m := re.fullmatch(r"/api/v1/courses/(?P<course>\d+)", path):
            self._send(200, {"id": int(m["course"]), "name": "ML 101"})
        else:
            self._send(404, {"errors": [{"message": "not here"}]})

    def do_PUT(self) -> None:
        if not self._authorized() or self._throttle("PUT"):
            return
        m = re.fullmatch(API + r"/submissions/(?P<u>\d+)", urlparse(self.path).path)
        if m is None or m["u"] not in self.state.users:
            self._send(404, {"errors": [{"message": "The specified resource does not exist."}]})
            return
        form = parse_qs(self._body().decode())
        user = m["u"]
        if user in self.state.unassigned:
            body = {
                "status": "unauthorized",
                "errors": [{"message": "user not authorized to perform that action"}],
            }
            self._send(401, body)  # fmt: skip
            return
        if grade := form.get("submission[posted_grade]"):
            prefer = form.get("prefer_points_over_scheme", [""])[0].lower() == "true"
            score = self._score(grade[0], prefer)
            if score is None:
                self._send(400, {"errors": {"grade": f"{grade[0]!r} is not a valid grade"}})
                return
            self.state.scores[user] = score
            self.state.writes.append(f"grade {user} {grade[0]}")
        text = form.get("comment[text_comment]", [""])[0]
        ids = [int(i) for i in form.get("comment[file_ids][]", [])]
        if text or ids:
            attachments = [self.state.files[i] for i in ids]
            self.state.comments.setdefault(user, []).append(
                {"comment": text, "attachments": attachments}
            )
            self.state.writes.append(f"comment {user} {len(attachments)} file(s)")
        self._send(200, self._submission(m["a"], user))

    def do_POST(self) -> None:
        if not self._authorized():
            return
        path = urlparse(self.path).path
        if re.fullmatch(API + r"/submissions/\d+/comments/files", path):
            name = parse_qs(self._body().decode()).get("name", ["file"])[0]
            port = self.server.server_address[1]
            upload = f"http://127.0.0.1:{port}/upload/{len(self.state.files) + 1}"
            self._send(200, {"upload_url": upload, "upload_params": {"filename": name}})
        elif m := re.fullmatch(r"/upload/(?P<n>\d+)", path):
            raw = b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n"
            message = BytesParser(policy=HTTP).parsebytes(raw + self._body())
            part = next(p for p in message.iter_parts() if p.get_filename())
            data = part.get_payload(decode=True)
            n = int(m["n"])
            self.state.files[n] = {"id": n, "display_name": part.get_filename(), "size": len(data)}
            self.state.writes.append(f"upload {part.get_filename()}")
            self._send(201, {**self.state.files[n], "url": f"http://127.0.0.1/files/{n}"})
        else:
            self._send(404, {"errors": [{"message": "not here"}]})


def serve() -> tuple[ThreadingHTTPServer, State]:
    """A running stand-in on 127.0.0.1 (an ephemeral port) and its state."""
    state = State()
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state
