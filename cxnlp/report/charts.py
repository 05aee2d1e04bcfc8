"""Small, dependency-free SVG charts for the static report (no script, so the page works under a strict
Content-Security-Policy and in any browser or mail client)."""
from __future__ import annotations

import html
from typing import Sequence

PALETTE = {"erlebnis": "#d9480f", "erfahrung": "#1c7ed6", "gap": "#868e96"}


def line_chart(title: str, x_labels: Sequence[str], series: Sequence[dict], *, y_min: float = -100,
               y_max: float = 100, width: int = 560, height: int = 220, zero_line: bool = True) -> str:
    """``series``: dicts with name, color, values (None = no data / below minimum volume) and optional ci
    (half-widths, drawn as a band)."""
    pad_l, pad_r, pad_t, pad_b = 38, 10, 26, 34
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    n = max(1, len(x_labels) - 1)

    def X(i: int) -> float:
        return pad_l + w * i / n

    def Y(v: float) -> float:
        v = max(y_min, min(y_max, v))
        return pad_t + h * (1 - (v - y_min) / (y_max - y_min))

    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="{pad_l}" y="16" font-size="13" font-weight="bold">{html.escape(title)}</text>']
    for v in (y_min, (y_min + y_max) / 2, y_max):
        parts.append(f'<text x="{pad_l - 4}" y="{Y(v) + 4:.1f}" font-size="10" text-anchor="end">{v:g}</text>')
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{Y(v):.1f}" y2="{Y(v):.1f}" stroke="#eee"/>')
    if zero_line and y_min < 0 < y_max:
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{Y(0):.1f}" y2="{Y(0):.1f}" stroke="#aaa"/>')
    step = max(1, len(x_labels) // 6)
    for i, lab in enumerate(x_labels):
        if i % step == 0 or i == len(x_labels) - 1:
            parts.append(f'<text x="{X(i):.1f}" y="{height - 18}" font-size="10" text-anchor="middle">'
                         f'{html.escape(str(lab))}</text>')
    for s in series:
        vals, ci, color = s["values"], s.get("ci"), s["color"]
        if ci:
            top = [(X(i), Y(v + c)) for i, (v, c) in enumerate(zip(vals, ci)) if v is not None and c is not None]
            bot = [(X(i), Y(v - c)) for i, (v, c) in enumerate(zip(vals, ci)) if v is not None and c is not None]
            if len(top) > 1:
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in top + bot[::-1])
                parts.append(f'<polygon points="{pts}" fill="{color}" fill-opacity="0.12" stroke="none"/>')
        seg: list[str] = []
        for i, v in enumerate(vals + [None]):
            if v is None:
                if len(seg) > 1:
                    parts.append(f'<polyline class="series" data-series="{html.escape(s["name"])}" fill="none" '
                                 f'stroke="{color}" stroke-width="2" points="{" ".join(seg)}"/>')
                seg = []
                continue
            seg.append(f"{X(i):.1f},{Y(v):.1f}")
        for i, v in enumerate(vals):
            if v is not None:
                parts.append(f'<circle cx="{X(i):.1f}" cy="{Y(v):.1f}" r="2.5" fill="{color}"><title>'
                             f'{html.escape(s["name"])} {html.escape(str(x_labels[i]))}: {v:.1f}</title></circle>')
    lx = pad_l
    for s in series:
        parts.append(f'<rect x="{lx}" y="{height - 11}" width="10" height="4" fill="{s["color"]}"/>'
                     f'<text x="{lx + 14}" y="{height - 6}" font-size="10">{html.escape(s["name"])}</text>')
        lx += 22 + 6 * len(s["name"])
    parts.append("</svg>")
    return "".join(parts)
