"""A local stand-in for the few Canvas REST endpoints ``grader publish canvas`` uses, answering
as Canvas's API documentation describes them, on 127.0.0.1 only. It records every write, and
throttles the first submission read (403 "Rate Limit Exceeded", as older Canvas does) and the
first grade write (429, as newer Canvas does)."""

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
    to_throttle: list[tuple[str, int]] = field(default_factory=lambda: [("GET", 403), ("PUT", 429)])


class Handler(BaseHTTPRequestHandler):
    state: State

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        if self.path.startswith("/upload/"):
            return True  # Canvas's upload URLs carry their own token in the URL
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, {"errors": [{"message": "Invalid access token."}]})
            return False
        return True

    def _throttle(self, method: str) -> bool:
        path = urlparse(self.path).path
        for i, (m, code) in enumerate(self.state.to_throttle):
            if m == method and "/submissions/" in path and "comments" not in path:
                del self.state.to_throttle[i]
                self.state.throttled.append(f"{method} {code}")
                body = "403 Forbidden (Rate Limit Exceeded)" if code == 403 else "Too Many Requests"
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return True
        return False

    def _submission(self, a: str, user: str) -> dict[str, Any]:
        return {
            "id": int(user) * 10, "user_id": int(user), "assignment_id": int(a),
            "score": self.state.scores.get(user),
            "submission_comments": self.state.comments.get(user, []),
        }  # fmt: skip

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        if not self._authorized() or self._throttle("GET"):
            return
        path = urlparse(self.path).path
        if m := re.fullmatch(API, path):
            points = self.state.points
            self._send(200, {"id": int(m["a"]), "course_id": int(m["course"]),
                             "name": "intro_ann", "points_possible": points})  # fmt: skip
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
        if grade := form.get("submission[posted_grade]"):
            self.state.scores[user] = float(grade[0])
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
