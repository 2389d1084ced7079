"""Small inline SVG plots for feedback pages: no library, no network, numbers only."""

from __future__ import annotations

import math
from html import escape

from markupsafe import Markup

W, H, PAD = 360, 220, 44
EXPECTED = "#1f5fbf"  # reference: blue, solid
GOT = "#c2410c"  # student: orange, dashed (told apart by dash as well as colour)


def _finite(xs: list[float]) -> list[float]:
    return [x for x in xs if math.isfinite(x)]


def _scale(lo: float, hi: float, a: float, b: float) -> tuple[float, float]:
    span = (hi - lo) or 1.0
    return lo, (b - a) / span


def _frame(title: str, desc: str, body: str) -> Markup:
    t, d = escape(title), escape(desc)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" '
        f'style="max-width:{W}px" role="img" aria-label="{t}: {d}"><title>{t}</title>'
        f"<desc>{d}</desc>"
        f'<rect x="{PAD}" y="8" width="{W - PAD - 8}" height="{H - PAD - 8}" fill="#fff" stroke="#999"/>'
        f"{body}"
        f'<g font-size="11" font-family="sans-serif">'
        f'<line x1="{PAD + 8}" y1="{H - 10}" x2="{PAD + 28}" y2="{H - 10}" stroke="{EXPECTED}" stroke-width="2"/>'
        f'<text x="{PAD + 32}" y="{H - 6}">reference</text>'
        f'<line x1="{PAD + 110}" y1="{H - 10}" x2="{PAD + 130}" y2="{H - 10}" stroke="{GOT}" '
        f'stroke-width="2" stroke-dasharray="5 3"/><text x="{PAD + 134}" y="{H - 6}">yours</text></g>'
        "</svg>"
    )


def line_plot(title: str, expected: list[float], got: list[float] | None) -> Markup:
    """Two series against their index (e.g. the loss per epoch)."""
    series = _finite(expected) + _finite(got or [])
    if not series:
        return Markup("")
    lo, hi = min(series), max(series)
    n = max(len(expected), len(got or []), 2)
    x0, xs = _scale(0, n - 1, PAD, W - 8)
    y0, ys = _scale(lo, hi, 0, H - PAD - 16)

    def path(vals: list[float], colour: str, dash: str) -> str:
        pts = [
            f"{PAD + (i - x0) * xs:.1f},{H - PAD - 4 - (v - y0) * ys:.1f}"
            for i, v in enumerate(vals)
            if math.isfinite(v)
        ]
        return (
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" {dash} points="{" ".join(pts)}"/>'
            if pts
            else ""
        )

    body = path(expected, EXPECTED, "")
    if got:
        body += path(got, GOT, 'stroke-dasharray="5 3"')
    # y: the range, right-aligned left of the frame; x: the first and last position
    axis = (
        f'<g font-size="10" font-family="sans-serif" fill="#374151">'
        f'<text x="{PAD - 3}" y="16" text-anchor="end">{hi:.3g}</text>'
        f'<text x="{PAD - 3}" y="{H - PAD}" text-anchor="end">{lo:.3g}</text>'
        f'<text x="{PAD}" y="{H - PAD + 11}">0</text>'
        f'<text x="{(PAD + W - 8) / 2:.0f}" y="{H - PAD + 11}" text-anchor="middle">'
        "position in the list</text>"
        f'<text x="{W - 8}" y="{H - PAD + 11}" text-anchor="end">{n - 1}</text></g>'
    )
    desc = f"{len(expected)} reference values from {expected[0]:.4g} to {expected[-1]:.4g}"
    if got:
        desc += f"; {len(got)} of yours from {got[0]:.4g} to {got[-1]:.4g}"
    return _frame(title, desc, body + axis)


def parabola_plot(title: str, expected: list[float], got: list[float] | None) -> Markup:
    """Gradient-descent steps on f(x) = x**2 (the course's "Did we find the minimum?")."""
    xs_all = _finite(expected) + _finite(got or [])
    if not xs_all:
        return Markup("")
    reach = max(2.0, max(abs(x) for x in xs_all) * 1.1)
    x0, sx = _scale(-reach, reach, PAD, W - 8)
    y0, sy = _scale(0, reach**2, 0, H - PAD - 16)

    def pt(x: float) -> tuple[float, float]:
        return PAD + (x - x0) * sx, H - PAD - 4 - (x * x - y0) * sy

    curve = " ".join(
        f"{px:.1f},{py:.1f}" for px, py in (pt(-reach + 2 * reach * k / 80) for k in range(81))
    )
    body = f'<polyline fill="none" stroke="#444" stroke-width="1" points="{curve}"/>'
    for vals, colour, r in ((expected, EXPECTED, 4), (got or [], GOT, 2.5)):
        for x in _finite(vals):
            px, py = pt(x)
            body += (
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{r}" fill="{colour}" fill-opacity="0.8"/>'
            )
    desc = f"reference steps end at x = {expected[-1]:.4g}"
    if got:
        desc += f"; yours end at x = {got[-1]:.4g}"
    return _frame(title, desc, body)


def histogram(scores: list[float], max_score: float, bins: int = 10) -> Markup:
    """Graded submissions per score band."""
    width = (max_score or 1) / bins
    counts = [0] * bins
    for s in scores:
        counts[min(bins - 1, int(s // width))] += 1
    top = max(counts) or 1
    bw = (W - PAD - 8) / bins
    body = ""
    for i, c in enumerate(counts):
        h = (H - PAD - 16) * c / top
        x = PAD + i * bw
        body += (
            f'<rect x="{x + 2:.1f}" y="{H - PAD - 4 - h:.1f}" width="{bw - 4:.1f}" height="{h:.1f}" fill="{EXPECTED}"/>'
            f'<text x="{x + bw / 2:.1f}" y="{H - PAD - 8 - h:.1f}" font-size="10" text-anchor="middle">{c or ""}</text>'
            f'<text x="{x + bw / 2:.1f}" y="{H - PAD + 10:.1f}" font-size="9" text-anchor="middle">{i * width:g}</text>'
        )
    desc = ", ".join(f"{i * width:g} to {(i + 1) * width:g}: {c}" for i, c in enumerate(counts))
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" style="max-width:{W}px" '
        f'role="img" aria-label="score histogram: {escape(desc)}"><title>Score distribution</title>'
        f'<g font-family="sans-serif">{body}</g></svg>'
    )
