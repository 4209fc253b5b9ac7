"""One print style for every exported figure: white, a print font size, one column or a page wide.

``for_print(fig, kind, style, caption)`` returns a copy of a view's on-screen figure laid out for a paper
(the figure on screen keeps its size, hover and clicks). The layout is computed here, not left to Plotly's
``automargin``: margins are sized from the figure's own text (ticks, titles, legend, the provenance caption,
wrapped to the width), so the caption can sit in the bottom margin below everything else, and the
figure's height follows from its content (one bar per token, square heat-map cells). What each kind of
figure changes (bars turned sideways, tokens re-wrapped, heads 0…H−1 exactly) is in ``print_kinds``.

Sizes are in CSS pixels, 96 to the inch, which is how SVG and PDF viewers size a figure: a column figure
opens 3.3 in wide. A PNG is ``scale`` pixels per figure unit: the default 3.125 is 300 dpi.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from explain.views import print_kinds
from explain.views.figure_style import DEFAULT_SCALE, PX_PER_INCH, WIDTH_INCHES, FigureSize, FigureStyle
from explain.views.print_text import FONT, text_px, widest, wrap

PAD = 6  # px between the canvas edge and the outermost text, and between stacked blocks


def for_print(fig: go.Figure, kind: str, style: FigureStyle, caption: str = "") -> go.Figure:
    """A copy of ``fig`` laid out for print; ``kind`` is one of ``print_kinds.KINDS``."""
    out = go.Figure(fig)
    font = style.font
    out.update_layout(
        template="simple_white", paper_bgcolor="white", plot_bgcolor="white", autosize=False,
        font={"family": FONT, "size": font, "color": "#222"}, hovermode=False, dragmode=False,
        title={"font": {"size": font + 1}}, separators=".,",
    )  # fmt: skip
    for axis in ("xaxis", "yaxis"):
        out.layout[axis].update(
            automargin=False,
            tickfont={"size": font - 1},
            exponentformat="e",
            ticklen=3,
            title={"standoff": 4, "font": {"size": font}},
        )
    handler = print_kinds.KINDS[kind]
    handler.prepare(out, style)
    _lay_out(out, handler, style, caption)
    return out


@dataclass
class _Box:
    top: float
    left: float
    right: float
    bottom: float = 0.0
    plot_w: float = 0.0
    plot_h: float = 0.0


def _lay_out(fig: go.Figure, handler: print_kinds.Kind, style: FigureStyle, caption: str) -> None:
    font, width = style.font, style.width
    title = fig.layout.title.text or ""
    title_lines = wrap(title, width - 2 * PAD, font + 1) if title else []
    box = _sides(fig, handler, style, PAD + len(title_lines) * 1.3 * (font + 1) + (PAD if title_lines else 0))
    below = _below_plot(fig, font, box)
    escaped = caption.replace("<", "&lt;").replace(">", "&gt;")
    caption_lines = wrap(escaped, width - 2 * PAD, font - 2) if caption else []
    box.bottom = below + len(caption_lines) * 1.3 * (font - 2) + PAD
    fig.update_layout(
        width=width, height=round(box.top + box.plot_h + box.bottom),
        margin={"l": box.left, "r": box.right, "t": box.top, "b": box.bottom, "pad": 0, "autoexpand": False},
    )  # fmt: skip
    for note in fig.layout.annotations if handler.wrap_notes else ():  # a note in the plot: wrapped to it
        note.text = "<br>".join(wrap(note.text or "", 0.9 * box.plot_w, font - 1))
        note.font.size = font - 1
    x = (PAD - box.left) / box.plot_w  # the canvas's left edge, plus the pad, in plot fractions
    extra = []  # added in one assignment: add_annotation re-validates every token's note (1.4 s at 512)
    if title_lines:  # an annotation, not layout.title: Plotly misplaces a multi-line title anchored at its top
        fig.update_layout(title={"text": ""})
        extra.append(go.layout.Annotation(
            text="<br>".join(title_lines), xref="paper", yref="paper", x=x, y=1, xanchor="left", yanchor="top",
            yshift=box.top - PAD, align="left", showarrow=False, font={"size": font + 1, "color": "#222"},
        ))  # fmt: skip
    if caption_lines:
        extra.append(go.layout.Annotation(
            text="<br>".join(caption_lines), xref="paper", yref="paper", x=x, y=0, xanchor="left", yanchor="top",
            yshift=-below, align="left", showarrow=False, font={"size": font - 2, "color": "#555"},
        ))  # fmt: skip
    if extra:
        fig.layout.annotations = (*fig.layout.annotations, *extra)


def _sides(fig: go.Figure, handler: print_kinds.Kind, style: FigureStyle, top: float) -> _Box:
    """Left and right margins and the plot's size; the y title wrapped to the plot's height, which depends
    on the left margin, which depends on how many lines the title takes (settles in two rounds)."""
    font = style.font
    box = _Box(top=top, left=0, right=0)
    y_title = fig.layout.yaxis.title.text or ""
    y_lines = 1
    for _ in range(3):
        box.left = PAD + (y_lines * 1.3 * font if y_title else 0) + _tick_band(fig, "yaxis", font) + 4
        box.right = PAD + print_kinds.right_band(fig, font)
        box.plot_w = style.width - box.left - box.right
        box.plot_h = handler.fill(fig, style, box.plot_w)
        lines = wrap(y_title, 0.95 * box.plot_h, font) if y_title else []
        if len(lines) <= y_lines:
            break
        y_lines = len(lines)
    if y_title:
        fig.layout.yaxis.title.text = "<br>".join(wrap(y_title, 0.95 * box.plot_h, font))
    return box


def _below_plot(fig: go.Figure, font: int, box: _Box) -> float:
    """Everything between the plot and the caption, stacked: ticks, x title, a colour bar, the legend."""
    below = _tick_band(fig, "xaxis", font) + 4
    if fig.layout.xaxis.title.text:
        x_lines = wrap(fig.layout.xaxis.title.text, box.plot_w, font)
        fig.layout.xaxis.title.text = "<br>".join(x_lines)
        below += len(x_lines) * 1.3 * font + 4
    below += print_kinds.below_band(fig, font, box.plot_w, box.plot_h, below)
    return below + _legend(fig, font, box, below)


def _tick_band(fig: go.Figure, axis: str, font: int) -> float:
    """Room for an axis's tick labels across the axis: one line, or the widest label when turned or on y."""
    ax = fig.layout[axis]
    if ax.visible is False or ax.showticklabels is False:
        return 0.0
    labels = print_kinds.tick_labels(fig, axis)
    turned = axis == "yaxis" or (ax.tickangle is not None and abs(ax.tickangle) > 45)
    return widest(labels, font - 1) if turned else 1.3 * (font - 1)


def _legend(fig: go.Figure, font: int, box: _Box, below: float) -> float:
    """A legend as one column under the x axis (a horizontal one wraps unpredictably); returns its height."""
    traces = [t for t in fig.data if t.type != "heatmap"]
    entries = [t for t in traces if t.showlegend is not False and t.name and (t.showlegend or len(traces) > 1)]
    if not entries:
        fig.update_layout(showlegend=False)
        return 0.0
    item = max(1.6 * font, 17)  # Plotly's legend row: the larger of the text and its 16 px symbol
    names = [t.name for t in entries]
    if text_px(max(names, key=len), font) + 44 > box.plot_w + box.left:
        for t in entries:
            t.name = "<br>".join(wrap(t.name, box.plot_w + box.left - 50, font))
    fig.update_layout(
        showlegend=True,
        legend={"orientation": "v", "x": (PAD - box.left) / box.plot_w, "xanchor": "left", "y": -below / box.plot_h,
                "yanchor": "top", "font": {"size": font}, "tracegroupgap": 0,
                "bgcolor": "rgba(0,0,0,0)", "borderwidth": 0},
    )  # fmt: skip
    lines = sum(str(t.name).count("<br>") for t in entries)
    return float(len(entries) * item + lines * 1.3 * font + 2 * PAD)


__all__ = ["DEFAULT_SCALE", "PX_PER_INCH", "WIDTH_INCHES", "FigureSize", "FigureStyle", "for_print"]
