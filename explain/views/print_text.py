"""Text extents and tick values for laying figures out before a browser draws them.

Plotly places axis titles, legends and annotations inside fixed margins; a print figure sizes those margins
from its own text, so it needs each string's width in pixels. Widths are estimated from DejaVu Sans (the
sans font Kaleido's Chromium has on Debian) on the generous side: a wider guess leaves a few pixels of
space, a narrower one lets text collide. The layout test measures the real glyphs.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Sequence

#: The print font: DejaVu Sans is what Chromium renders on Debian; Arial and the rest are for other systems.
FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"
_TAG = re.compile(r"<[^>]*>")


def _advance(c: str) -> float:
    """Width of one character in em, rounded up from DejaVu Sans's advances."""
    if unicodedata.category(c) in ("Mn", "Me", "Cf"):  # combining marks, zero-width spaces: no width
        return 0.0
    if unicodedata.east_asian_width(c) in "WF":
        return 1.0
    if c == " ":
        return 0.34
    if c.isupper() or c in "mwMW%@&—":
        return 0.82
    return 0.64


def text_px(text: str, size: float) -> float:
    """Estimated width of ``text`` (Plotly pseudo-HTML: tags dropped, entities decoded) at ``size`` px."""
    return size * sum(_advance(c) for c in html.unescape(_TAG.sub("", text)))


def widest(texts: Sequence[str], size: float) -> float:
    return max((text_px(t, size) for t in texts), default=0.0)


def wrap(text: str, width: float, size: float) -> list[str]:
    """``text`` (already escaped for Plotly) broken at spaces into lines no wider than ``width`` px; a word
    longer than a line is cut between characters."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if text_px(candidate, size) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = word
        while text_px(line, size) > width and len(line) > 1:
            cut = _fit(line, width, size)
            lines.append(line[:cut])
            line = line[cut:]
    lines.append(line)
    return [w for w in lines if w] or [""]


def _fit(text: str, width: float, size: float) -> int:
    """The longest prefix of ``text`` that fits ``width`` (at least one character), not splitting an entity."""
    n = 1
    while n < len(text) and text_px(text[: n + 1], size) <= width:
        n += 1
    amp = text.rfind("&", 0, n)
    if amp > 0 and ";" not in text[amp:n]:
        n = amp
    return n


def clip(text: str, width: float, size: float) -> str:
    """``text`` shortened with an ellipsis to fit ``width`` px (tick labels: a 40-character URL token)."""
    if text_px(text, size) <= width:
        return text
    return text[: _fit(text, width - size, size)] + "…"


def nice_ticks(low: float, high: float, most: int = 5) -> list[float]:
    """At most ``most`` round values (1, 2, 2.5 or 5 x 10^k apart) within [low, high], ends included when round."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else [0.0]
    power = 10.0 ** math.floor(math.log10((high - low) / most))
    for step in (m * power for m in (1, 2, 2.5, 5, 10, 20, 25, 50, 100)):  # the finest step that gives <= most
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
        if last - first + 1 <= most:
            break
    return [0.0 if k == 0 else float(f"{k * step:.12g}") for k in range(first, last + 1)]


def tick_text(values: Sequence[float]) -> list[str]:
    """Labels for ``values`` with the fewest decimals that tell them apart; tiny or huge values as 4e−4
    (never Plotly's SI prefixes: "400μ" for a probability reads as a unit)."""
    finite = [abs(v) for v in values if v]
    top = max(finite, default=1.0)
    if top < 1e-3 or top >= 1e5:
        return [_exponent(v) for v in values]
    for decimals in range(0, 7):
        labels = [f"{v:.{decimals}f}" for v in values]
        if all(abs(float(s) - v) <= 1e-9 * top for s, v in zip(labels, values, strict=True)):
            break
    return [s.replace("-", "−") for s in labels]


def _exponent(v: float) -> str:
    if v == 0:
        return "0"
    mantissa, exp = f"{v:.1e}".split("e")
    mantissa = mantissa.removesuffix(".0")
    return f"{mantissa}e{int(exp)}".replace("-", "−")
