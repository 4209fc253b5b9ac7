"""Redraw docs/gallery/*.png and docs/gallery.md: every exported figure kind as laid out for print.

Each kind is drawn from ``tests.figure_specimens`` (the inputs of the layout test): the short input one
column wide, the long input a page wide. The PNGs are drawn at a modest scale and reduced to 256 colours
so the gallery stays small; the exports themselves are 300 dpi. Run: ``bash scripts/gallery.sh``.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from explain.export.rendering import render_many  # noqa: E402
from explain.views.print_style import PX_PER_INCH, FigureStyle, for_print  # noqa: E402
from tests.figure_specimens import CAPTION, SPECIMENS  # noqa: E402

SCALE = {"column": 1.5, "page": 1.0}  # 144 and 96 dpi: enough to read, small enough to keep in git
CASES = (("short", False, "column"), ("long", True, "page"))


def main() -> int:
    out = ROOT / "docs" / "gallery"
    out.mkdir(parents=True, exist_ok=True)
    jobs, rows = [], []
    for name, (kind, build) in SPECIMENS.items():
        for label, long, size in CASES:
            fig = for_print(build(long), kind, FigureStyle(size), CAPTION)  # type: ignore[arg-type]
            jobs.append((fig, "png", SCALE[size]))
            rows.append((name, kind, label, size, fig.layout.width, fig.layout.height))
    images = render_many(jobs, timeout=120)  # type: ignore[arg-type]
    lines = [_HEADER, "| figure | kind | input | size | inches | px at 300 dpi | image |", "|---" * 7 + "|"]
    for (name, kind, label, size, w, h), png in zip(rows, images, strict=True):
        file = f"{name}-{label}-{size}.png"
        (out / file).write_bytes(_small(png))
        inches = f"{w / PX_PER_INCH:.2f} × {h / PX_PER_INCH:.2f}"
        px = f"{int(w * 300 / PX_PER_INCH)} × {int(h * 300 / PX_PER_INCH)}"
        lines.append(f"| `{name}` | {kind} | {label} | {size} | {inches} | {px} | ![{name}](gallery/{file}) |")
    (ROOT / "docs" / "gallery.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in out.glob("*.png"))
    print(f"{len(images)} figures, {total / 1e6:.2f} MB in {out}")
    return 0


def _small(png: bytes) -> bytes:
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(256)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


_HEADER = """# Figure gallery

Every figure kind Glimpse exports as PNG, SVG or PDF, laid out for print (`explain/views/print_style.py`):
white, 10-11 px type (7.5-8 pt), one column (3.3 in) or a page (7 in) wide, the provenance caption wrapped
inside the canvas. Heights follow the content (a row per token, square heat-map cells). The layout test
(`tests/test_figure_layout.py`) checks each of these, short and long, at both sizes: every text inside the
canvas, no two texts overlapping, colour bars at least an inch long with legible ticks.

The numbers are synthetic (`tests/figure_specimens.py`); the labels are awkward on purpose. Images here are
reduced (144 dpi for a column, 96 dpi for a page, 256 colours); exports are 300 dpi by default.
Regenerate with `bash scripts/gallery.sh`.
"""


if __name__ == "__main__":
    raise SystemExit(main())
