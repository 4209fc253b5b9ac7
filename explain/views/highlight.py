"""Text as coloured tokens: signed scores on a diverging, colour-blind-safe scale centred at zero.

The HTML is static (no script) and every token is ``html.escape``d: it is meant for Streamlit's
sanitised ``st.html`` and for exported files alike.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

# ColorBrewer RdBu (11 classes, colour-blind safe), from strongest negative (blue) to strongest positive (red).
RDBU = (
    "#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582", "#d6604d",
    "#b2182b", "#67001f",
)  # fmt: skip


def diverging_color(value: float, limit: float) -> str:
    """The RdBu colour of ``value`` on a scale from -limit (blue) through 0 (white) to +limit (red).

    A NaN value (or a scale with nothing on it) is neutral white: no colour may claim a direction."""
    if limit <= 0:
        return RDBU[5]
    t = float(np.clip(value / limit, -1.0, 1.0))  # -1 .. 1; NaN for a NaN value or limit (or inf / inf)
    return RDBU[5] if np.isnan(t) else RDBU[round((t + 1) * 5)]


def color_limit(scores: np.ndarray) -> float:
    """The half-width of the colour scale: the largest finite |score|, or 0 when there is none."""
    magnitudes = np.abs(np.asarray(scores, dtype=np.float64))
    finite = magnitudes[np.isfinite(magnitudes)]
    return float(finite.max()) if finite.size else 0.0


def score_text(score: float) -> str:
    """A score as hover text: four decimals and its sign, or "n/a"."""
    return "n/a" if np.isnan(score) else f"{score:+.4f}"


def text_color(background: str) -> str:
    return "#ffffff" if background in (RDBU[0], RDBU[1], RDBU[9], RDBU[10]) else "#111111"


def highlight_html(
    labels: Sequence[str], scores: np.ndarray, *, what: str, limit: float | None = None, signed: bool = True
) -> str:
    """Tokens (or words) with background colours; hover (title) shows the exact score ("n/a" for NaN).

    ``signed=False`` is for shares (rollout): the legend then runs from 0 to the limit only. No scores
    give an empty token list above the legend.
    """
    limit = color_limit(scores) if limit is None else limit
    spans = []
    for label, score in zip(labels, np.asarray(scores, dtype=np.float64), strict=True):
        bg = diverging_color(float(score), limit)
        hover = html.escape(f"{label}: {what} {score_text(score)}", quote=True)
        spans.append(
            f'<span class="glimpse-token" title="{hover}" '
            f'style="background:{bg};color:{text_color(bg)};padding:2px 4px;margin:2px;border-radius:3px;'
            f'display:inline-block;font-family:monospace">{html.escape(label)}</span>'
        )
    return (
        '<div class="glimpse-tokens" style="line-height:2.1">'
        + "".join(spans)
        + "</div>"
        + _legend(limit, what, signed)
    )


def _legend(limit: float, what: str, signed: bool) -> str:
    colours = RDBU if signed else RDBU[5:]
    cells = "".join(
        f'<span style="background:{c};display:inline-block;width:22px;height:12px"></span>' for c in colours
    )
    low = f"−{limit:.3g} (against)" if signed else "0"
    high = f"+{limit:.3g} (for)" if signed else f"{limit:.3g}"
    return (
        '<div class="glimpse-legend" style="font-size:12px;color:#444;margin-top:6px">'
        f"<span>{low}</span> {cells} <span>{high}</span>"
        f" &nbsp;· colour = {html.escape(what)}, white = 0</div>"
    )


def spans_html(text: str, spans: Sequence[tuple[int, int, str]]) -> str:
    """``text`` with the character spans ``(start, end, label)`` marked (entities, an answer, filled masks).

    Everything from the text and the labels is escaped: a user's text is never HTML. Overlapping or
    out-of-range spans are clipped to what is left of the text, in order."""
    parts, at = [], 0
    for start, end, label in sorted(spans):
        start, end = max(start, at), min(end, len(text))
        if start >= end:
            continue
        parts.append(html.escape(text[at:start]))
        tag = html.escape(label, quote=True)
        parts.append(
            f'<mark class="glimpse-span" title="{tag}" style="background:#fde68a;padding:1px 3px;border-radius:3px">'
            f'{html.escape(text[start:end])}<sup style="font-size:0.7em;margin-left:2px">{html.escape(label)}</sup>'
            "</mark>"
        )
        at = end
    parts.append(html.escape(text[at:]))
    return '<div class="glimpse-spans" style="line-height:1.9;white-space:pre-wrap">' + "".join(parts) + "</div>"
