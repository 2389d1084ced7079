"""How a ``check(...)`` result shows in a notebook front end.

One output carries three renderings (a MIME bundle), because front ends differ in what they
show and trust (docs/self-check-in-front-ends.md):

- ``text/html``: a compact result made of plain HTML with inline styles: no script, no frame,
  no in-page links, so it reads the same in a trusted notebook, an untrusted one (JupyterLab
  and Notebook 7 sanitize its HTML) and a static view. One line per check; a failed check
  shows its mistake once, its message, its cases and its plot; passed checks are one line.
  ``check()`` adds the full feedback page in a frame after it; the frame's own script grows it
  to its content (a ResizeObserver, so it is measured again when a background tab becomes
  visible or a section opens) and keeps its links inside it. A script beside the frame hides
  the compact copy where scripts run; where they do not (untrusted), the frame is removed by
  the sanitizer and the compact copy is what shows.
- ``text/markdown`` and ``text/plain``: the same verdicts as text (VS Code, nbviewer, GitHub
  and Colab pick these where they do not render the HTML).
"""

from __future__ import annotations

import base64
import contextlib
import html
import sys
from typing import Any

from ..report.pages import code_spans
from ..report.plots import line_plot, parabola_plot
from ..verdict.model import CheckResult, Outcome, Report

MARK = {Outcome.PASSED: "✓", Outcome.SKIPPED: "○"}
COLOUR = {Outcome.PASSED: "#15803d", Outcome.SKIPPED: "#6b7280"}
FAILED_COLOUR = "#b91c1c"
BOX = (
    "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;"
    "line-height:1.45;color:#111827;max-width:62rem"
)
# Inside the full page's frame: grow the frame to the page (and again whenever the page's
# size changes: a section opened, the window resized, a hidden tab shown), and keep links in
# the frame (a "#card" link resolves against the notebook's URL in an about:srcdoc frame).
FRAME_SCRIPT = """<script>(function(){
var f=window.frameElement;
function fit(){if(!f)return;var d=document.documentElement;
var h=Math.ceil(Math.max(d.getBoundingClientRect().height,document.body.scrollHeight));
if(h>0&&Math.abs(f.offsetHeight-h)>1)f.style.height=h+'px';}
if(window.ResizeObserver){new ResizeObserver(fit).observe(document.documentElement);}
window.addEventListener('load',fit);document.addEventListener('toggle',fit,true);
document.addEventListener('click',function(e){
var a=e.target.closest?e.target.closest('a[href]'):null;if(!a)return;
var href=a.getAttribute('href')||'';
if(href.charAt(0)==='#'){e.preventDefault();
var t=document.getElementById(decodeURIComponent(href.slice(1)));
if(t){t.scrollIntoView({block:'start'});}}
else{a.setAttribute('target','_blank');a.setAttribute('rel','noopener');}});
fit();})();</script>"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _plot(t: CheckResult) -> str:
    """The check's plot as an image (an ``<img>`` of SVG survives sanitizers that drop
    ``<svg>``)."""
    if t.plot is None:
        return ""
    draw = parabola_plot if t.plot.kind == "parabola" else line_plot
    svg = str(draw(t.name, t.plot.expected, t.plot.got))
    if not svg:
        return ""
    data = base64.b64encode(svg.encode()).decode()
    return (
        f'<figure style="margin:6px 0"><img alt="{_e(t.name)}: {_e(t.plot.caption)}" '
        f'src="data:image/svg+xml;base64,{data}" style="max-width:360px;width:100%">'
        f'<figcaption style="font-size:12px;color:#4b5563">{_e(t.plot.caption)}</figcaption>'
        "</figure>"
    )


def _cases(t: CheckResult) -> str:
    if not t.cases:
        if t.expected is None or t.outcome is Outcome.PASSED:
            return ""
        return (
            f'<table style="border-collapse:collapse;margin:4px 0"><tr><th style="text-align:left;'
            f'padding:1px 8px 1px 0">expected</th><td><code>{_e(t.expected)}</code></td></tr>'
            f'<tr><th style="text-align:left;padding:1px 8px 1px 0">yours</th><td><code>'
            f"{_e(t.got)}</code></td></tr></table>"
        )
    full = t.feedback == "full"
    head = "<th>case</th><th>result</th>" + ("<th>expected</th><th>yours</th>" if full else "")
    rows = []
    for c in t.cases:
        result = "correct" if c.passed else code_spans(c.message or "")
        cells = f"<td>{_e(c.name)}</td><td>{result}</td>"
        if full:
            cells += f"<td><code>{_e(c.expected)}</code></td><td><code>{_e(c.got)}</code></td>"
        rows.append(f"<tr>{cells}</tr>")
    return (
        '<table style="border-collapse:collapse;margin:4px 0;font-size:12px">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _error(t: CheckResult) -> str:
    err = t.error or {}
    frames = err.get("frames") or []
    if not frames and not err.get("message"):
        return ""
    lines = [f"{f['where']}, line {f['lineno']}, in {f['name']}\n    {f['line']}" for f in frames]
    lines.append(f"{err.get('type', '')}: {err.get('message', '')}")
    return f'<pre style="font-size:12px;margin:4px 0">{_e(chr(10).join(lines))}</pre>'


def _details(t: CheckResult) -> str:
    """What a failed check shows under its line: message, cases, plot, error, output."""
    body = f"<div>{code_spans(t.message)}</div>{_cases(t)}{_plot(t)}{_error(t)}"
    if t.output:
        body += (
            "<details><summary>What your code printed during this check</summary>"
            f'<pre style="font-size:12px">{_e(t.output)}</pre></details>'
        )
    return f'<div style="margin:2px 0 8px 1.4em">{body}</div>'


def _line(t: CheckResult, diagnosis: str) -> str:
    mark = MARK.get(t.outcome, "✗")
    colour = COLOUR.get(t.outcome, FAILED_COLOUR)
    pts = f"{t.score:g}/{t.max_score:g}"
    mistake = f" · <strong>{_e(diagnosis)}: {_e(t.mistake['title'])}</strong>" if t.mistake else ""
    return (
        f'<div><span style="color:{colour};font-weight:700" aria-label="{t.outcome.value}">'
        f'{mark}</span> {_e(t.name)} <span style="color:#6b7280">({pts}'
        f"{'' if t.outcome in MARK else ', ' + t.outcome.value})</span>{mistake}</div>"
    )


def compact_html(report: Report, headline: str, diagnosis: str, note: str) -> str:
    """One line per check, the details of each that did not pass, the run's summary first."""
    rows = []
    for t in report.tests:
        rows.append(_line(t, diagnosis))
        if t.outcome not in MARK:
            rows.append(_details(t))
    return (
        f'<div class="grader-check" style="{BOX}">'
        f'<div style="font-weight:600;margin-bottom:4px">{code_spans(headline)}</div>'
        f'<div class="grader-check-rows">{"".join(rows)}</div>'
        f'<div style="font-size:11px;color:#6b7280;margin-top:4px">{_e(note)}</div></div>'
    )


def framed_page(page: str, title: str) -> str:
    """The full feedback page in a frame of its own (its styles stay off the notebook's),
    with the script that sizes it and keeps its links in it."""
    page = page.replace("</body>", FRAME_SCRIPT + "</body>", 1)
    return (
        f'<iframe class="grader-check-page" title="{_e(title)}: self-check" '
        f'srcdoc="{_e(page)}" style="width:100%;height:24rem;border:1px solid #d1d5db;'
        'border-radius:6px;display:block"></iframe>'
        # where scripts run (a trusted notebook) the frame shows the checks: hide their copy
        "<script>(function(){var s=document.currentScript;var p=s&&s.parentNode;"
        "var c=p&&p.querySelector('.grader-check-rows');if(c&&p.querySelector('iframe'))"
        "c.style.display='none';})();</script>"
    )


def markdown(report: Report, headline: str, diagnosis: str, note: str) -> str:
    """The verdicts as Markdown, for front ends that show no HTML."""
    out = [f"**{headline}**", ""]
    for t in report.tests:
        mark = MARK.get(t.outcome, "✗")
        line = f"- {mark} {t.name} ({t.score:g}/{t.max_score:g})"
        if t.mistake:
            line += f": **{diagnosis}: {t.mistake['title']}**"
        out.append(line)
        if t.outcome not in MARK:
            out.append(f"  - {t.message}")
            if t.expected is not None:
                out.append(f"  - expected `{t.expected}`, yours `{t.got}`")
    out += ["", f"_{note}_"]
    return "\n".join(out)


class Progress:
    """A line under the running ``check(...)`` cell saying which check runs (a cell shows
    only ``[*]`` otherwise, for up to a check's time limit), removed when they are done.
    Shown through IPython's display handles where the code runs in a kernel; nothing
    elsewhere (a script, a plain Python prompt)."""

    def __init__(self) -> None:
        self.handle: Any = None
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None  # type: ignore[attr-defined]
        self.enabled = shell is not None and hasattr(shell, "kernel")

    def show(self, text: str) -> None:
        if not self.enabled:
            return
        data = {
            "text/plain": text,
            "text/html": f'<div style="{BOX};color:#4b5563" role="status">{_e(text)}</div>',
        }
        try:
            if self.handle is None:
                from IPython.display import display

                self.handle = display(data, raw=True, display_id=True)
            else:
                self.handle.update(data, raw=True)
        except Exception:  # a front end without display handles: no progress line
            self.enabled = False

    def done(self) -> None:
        if self.handle is not None:
            with contextlib.suppress(Exception):
                self.handle.update({"text/plain": ""}, raw=True)
