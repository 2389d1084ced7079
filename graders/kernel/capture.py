"""Output from a kernel: captured, capped and cleaned, never trusted.

nbclient keeps every byte a cell prints; :class:`CappedClient` keeps a head per cell and kills
the kernel when a submission floods. :class:`OutputCollector` keeps what a probe prints.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

if TYPE_CHECKING:
    from .session import KernelSession

CUT_NOTE = "\n[output truncated by the grader]\n"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [truncated: {len(text) - limit:,} more characters]"


class CappedClient(NotebookClient):  # type: ignore[misc]
    """nbclient keeps every byte of output (500 MB in RAM for a 500 MB print); we don't."""

    def setup_caps(self, per_cell: int, total: int, session: KernelSession) -> None:
        self._per_cell = per_cell
        self._total = total
        self._cell_bytes: dict[int, int] = {}
        self._session = session
        self.replies: dict[int, dict[str, Any]] = {}  # cell index -> execute_reply content
        self.on_cell_executed = self._keep_reply

    def _keep_reply(self, cell: NotebookNode, cell_index: int, execute_reply: Any) -> None:
        content = execute_reply.get("content") if isinstance(execute_reply, dict) else None
        self.replies[cell_index] = content if isinstance(content, dict) else {}

    async def _async_check_alive(self) -> None:
        # nbclient's liveness poller can outlive a cell we cancelled; once we have dropped
        # the client it must see a dead kernel, not trip over a missing one.
        if self.kc is None:
            raise DeadKernelError("Kernel died")
        await super()._async_check_alive()

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        size = _msg_size(msg)
        self._session.output_bytes += size
        flood = self._session.output_bytes > self._total
        used = self._cell_bytes.get(cell_index, 0)
        self._cell_bytes[cell_index] = used + size
        if used + size > self._per_cell:
            if used <= self._per_cell:
                # Keep the head of the message that crosses the cap (the first 512 KB of one
                # 300 MB print), then say that the rest was cut.
                head = _head_of_stream(msg, self._per_cell - used - len(CUT_NOTE))
                if head is not None:
                    super().output(outs, head, display_id, cell_index)
                outs.append(nbformat.v4.new_output("stream", name="stderr", text=CUT_NOTE))
        elif not flood:
            return super().output(outs, msg, display_id, cell_index)  # type: ignore[no-any-return]
        if flood:
            self._session.kill("output limit")
        return None


def _head_of_stream(msg: dict[str, Any], chars: int) -> dict[str, Any] | None:
    """A copy of a stream message holding only its first ``chars`` characters."""
    content = msg.get("content", {})
    if msg.get("msg_type") != "stream" or chars <= 0 or not isinstance(content.get("text"), str):
        return None
    return {**msg, "content": {**content, "text": content["text"][:chars]}}


def _msg_size(msg: dict[str, Any]) -> int:
    c = msg.get("content", {})
    n = len(c.get("text", "") or "")
    for v in (c.get("data") or {}).values():
        n += len(v) if isinstance(v, str) else len(json.dumps(v))
    n += sum(len(t) for t in c.get("traceback", []) or [])
    return n


def cell_output(cell: NotebookNode, limit: int) -> tuple[str, dict[str, Any] | None]:
    text, error = [], None
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            text.append(out.text)
        elif out.output_type == "error":
            error = {
                "type": out.ename,
                "message": truncate(strip_ansi(out.evalue), 2000),
                "traceback": truncate(strip_ansi("\n".join(out.traceback)), 8000),
            }
    return truncate("".join(text), limit), error


class OutputCollector:
    """The student's prints during one probe, kept for feedback (capped), never trusted."""

    def __init__(self, msg_id: str, limit: int) -> None:
        self.msg_id = msg_id
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0

    async def read(self, kc: Any) -> None:
        while True:
            try:
                msg = await kc.get_iopub_msg(timeout=1)
            except Exception:
                continue
            if msg.get("parent_header", {}).get("msg_id") != self.msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and self.size < self.limit:
                self.parts.append(content.get("text", "")[: self.limit - self.size])
                self.size += len(self.parts[-1])
            elif kind == "status" and content.get("execution_state") == "idle":
                return

    def text(self) -> str:
        return truncate("".join(self.parts), self.limit)
