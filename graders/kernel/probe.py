"""One check's probe in a running kernel: the code sent, the reply awaited within the check's
time (interrupt, then kill), what the student's code printed meanwhile, and the result decoded
as data (:mod:`graders.verdict.results`)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from nbclient.exceptions import DeadKernelError

from ..verdict.checks import Check
from ..verdict.results import ProbeKind, ProbeResult, decode_reply
from .capture import OutputCollector
from .setup import PRELUDE

if TYPE_CHECKING:
    from .session import KernelSession

PROTOCOL_ERROR = "the kernel sent malformed messages (was the kernel tampered with?)"


def probe_code(check: Check, ctx: dict[str, Any]) -> str:
    """The kernel code of one probe: the runtime (again, if the student deleted it) runs the
    probe's source; its result comes back in the reply's user_expressions."""
    return (
        "if '__grader_rt__' not in globals():\n"
        f"    exec({PRELUDE!r})\n"
        f"__grader_rt__.run({check.source!r}, {check.func_name!r}, {json.dumps(ctx)!r})\n"
    )


async def run_probe(
    ks: KernelSession, check: Check, ctx: dict[str, Any], timeout: float
) -> ProbeResult:
    kc = ks.kernel_client()
    start = time.monotonic()
    msg_id = kc.execute(
        probe_code(check, ctx),
        silent=False,
        store_history=False,
        user_expressions={"r": "__grader_rt__.take()"},
        stop_on_error=False,
    )
    output = OutputCollector(msg_id, ks.limits.max_output_kb * 1024)
    reader = asyncio.ensure_future(output.read(kc))
    try:
        try:
            content = await ks.reply(msg_id, timeout)
        except TimeoutError:
            await ks.interrupt()
            try:
                await ks.reply(msg_id, 5)
            except (TimeoutError, DeadKernelError):
                ks.kill(f"check ran past {timeout:g} s and ignored the interrupt")
            took = time.monotonic() - start
            note = f"ran past {timeout:g} s"
            return ProbeResult(ProbeKind.TIMEOUT, output=output.text(), duration=took, note=note)
        except DeadKernelError:
            took, note = time.monotonic() - start, ks.death_reason()
            return ProbeResult(ProbeKind.DIED, output=output.text(), duration=took, note=note)
        except Exception:  # malformed messages from a tampered kernel
            ks.kill(PROTOCOL_ERROR)
            return ProbeResult(ProbeKind.DIED, output=output.text(), note=PROTOCOL_ERROR)
        await asyncio.sleep(0)  # let the reader take what has arrived
    finally:
        try:
            await asyncio.wait_for(asyncio.shield(reader), 0.5)
        except (asyncio.TimeoutError, Exception):
            pass
        reader.cancel()
    duration = time.monotonic() - start
    result = decode_reply(content)
    result.output = output.text()
    result.duration = duration
    return result
