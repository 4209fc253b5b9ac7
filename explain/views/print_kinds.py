"""What each kind of figure changes for print (see ``print_style``): structure first, then, once the plot's
width is known, tick thinning or re-wrapping and the plot's height.

- ``heatmap``: an attention matrix; token ticks below and left, thinned to one line each, square cells.
- ``grid``: the layer x head grid of thumbnails; cells square, head labels thinned to fit.
- ``head-map``: a layers x heads map; heads 0…H−1 and layers 0…L−1 exactly, no zero lines, no click targets.
- ``confusion``: a class x class table of counts; no colour bar.
- ``hbars``: bars with a category per row (vertical bars are turned sideways, so long labels never squeeze).
- ``tokens``: the coloured-token strip, re-wrapped into rows as wide as the figure; its colour bar lies below.
- ``curves``: lines against a numeric or categorical x.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go

from explain.views.print_text import clip, nice_ticks, tick_text, widest

if TYPE_CHECKING:
    from explain.views.figure_style import FigureStyle

#: The shortest colour bar, in px (an inch): shorter, its ticks crowd and its colours are hard to read off.
MIN_COLORBAR_PX = 96
COLORBAR_THICKNESS = 10
#: Maps are at most 4.5 in tall: a 12 x 12 head map with square cells a page wide would fill a page.
MAX_MAP_PX = 432
_LABEL_SHARE = 0.3  # a category label takes at most this share of the figure's width (then "…")
_NUMERIC = "−0.0025"  # as wide as Plotly's numeric ticks get with exponentformat "e"


@dataclass(frozen=True)
class Kind:
    prepare: Callable[[go.Figure, FigureStyle], None]
    fill: Callable[[go.Figure, FigureStyle, float], float]  # given the plot's width: ticks; returns its height
    wrap_notes: bool = True  # annotations are notes in the plot (the token strip's are its tokens)


def tick_labels(fig: go.Figure, axis: str) -> list[str]:
    """The labels an axis will show: its explicit tick text, its categories, or a numeric stand-in."""
    ax = fig.layout[axis]
    if ax.ticktext:
        return [str(t) for t in ax.ticktext]
    cats = _categories(fig, axis[0])
    return cats or [_NUMERIC]


def _categories(fig: go.Figure, letter: str) -> list[str]:
    out: list[str] = []
    for t in fig.data:
        values = getattr(t, letter, None)
        if values is not None and len(values) and isinstance(values[0], str):
            out.extend(v for v in values if v not in out)
    return out


def right_band(fig: go.Figure, font: int) -> float:
    """Room right of the plot for a vertical colour bar (gap, bar, ticks, title turned along the bar), or
    for half the last x tick label, which is centred on the plot's right edge."""
    bar = _scale_trace(fig)
    if bar is None or bar.colorbar.orientation == "h":
        xa = fig.layout.xaxis
        turned = xa.visible is False or (xa.tickangle is not None and abs(xa.tickangle) > 45)
        return 0.0 if turned else widest(tick_labels(fig, "xaxis")[-1:], font - 1) / 2
    title = bar.colorbar.title.text
    lines = title.count("<br>") + 1 if title else 0
    return 6 + COLORBAR_THICKNESS + 3 + 3 + widest(bar.colorbar.ticktext or [], font - 1) + 4 + lines * 1.3 * font


def below_band(fig: go.Figure, font: int, plot_w: float, plot_h: float, below: float) -> float:
    """Places a horizontal colour bar under the x axis (``below`` px down); returns the room it takes."""
    bar = _scale_trace(fig)
    if bar is None or bar.colorbar.orientation != "h":
        return 0.0
    bar.colorbar.update(x=0, xanchor="left", y=-(below + 4) / plot_h, yanchor="top", len=min(1.0, 300 / plot_w))
    return 4 + COLORBAR_THICKNESS + 3 + 3 + 1.3 * (font - 1) + 6


def _scale_trace(fig: go.Figure) -> Any:
    return next((t for t in fig.data if t.type == "heatmap" and t.showscale is not False), None)


def _colorbar(fig: go.Figure, style: FigureStyle, *, horizontal: bool = False) -> None:
    """A few round, labelled ticks over the whole data range, a bar a plot tall (or wide) and 10 px thick."""
    bar = _scale_trace(fig)
    if bar is None:
        return
    z = np.asarray(bar.z, dtype=np.float64)
    finite = z[np.isfinite(z)]
    low = bar.zmin if bar.zmin is not None else float(finite.min()) if finite.size else 0.0
    high = bar.zmax if bar.zmax is not None else float(finite.max()) if finite.size else 1.0
    values = nice_ticks(low, high)
    title = bar.colorbar.title.text or ""
    bar.colorbar.update(
        tickmode="array", tickvals=values, ticktext=tick_text(values), thickness=COLORBAR_THICKNESS, len=1,
        lenmode="fraction", outlinewidth=0, ticks="outside", ticklen=3, tickfont={"size": style.font - 1},
        xpad=6, ypad=0, x=1, xanchor="left", y=0.5, yanchor="middle",
    )  # fmt: skip
    if horizontal:
        bar.colorbar.update(orientation="h", title={"text": ""})  # the chart's title already names the scale
    else:
        bar.colorbar.title.update(text="<br>".join(_short(title, 110, style.font)), side="right")


def _short(text: str, width: float, font: int) -> list[str]:
    from explain.views.print_text import wrap

    return wrap(text, width, font) if text else []


def _square_cells(fig: go.Figure, style: FigureStyle) -> None:
    """Heat maps: token/category ticks below and left, the labels clipped, no grid or zero lines."""
    bar = next(t for t in fig.data if t.type == "heatmap")
    for axis, letter in (("xaxis", "x"), ("yaxis", "y")):
        ax = fig.layout[axis]
        ax.update(side="bottom" if letter == "x" else "left", showgrid=False, zeroline=False, title={"standoff": 4})
        if isinstance(getattr(bar, letter)[0], str):  # categories (tokens, classes): every one, clipped
            cats = list(getattr(bar, letter))
            ax.update(tickmode="array", tickvals=cats, ticktext=[clip(c, _LABEL_SHARE * style.width, style.font - 1)
                                                                  for c in cats])  # fmt: skip
    fig.layout.xaxis.tickangle = -90
    _colorbar(fig, style)


def _thin(ax: Any, spacing: float, extent: float) -> None:
    """Keep every k-th tick so labels ``extent`` px across sit at least that far apart (``spacing`` each)."""
    if ax.tickvals is None:
        return
    k = max(1, math.ceil(1.15 * extent / max(spacing, 1e-6)))
    ax.update(tickvals=list(ax.tickvals)[::k], ticktext=list(ax.ticktext)[::k])


def _heatmap_fill(fig: go.Figure, style: FigureStyle, plot_w: float) -> float:
    n_x, n_y = len(fig.layout.xaxis.tickvals or [1]), len(fig.layout.yaxis.tickvals or [1])
    plot_h = max(min(plot_w * n_y / n_x, MAX_MAP_PX), MIN_COLORBAR_PX + 24.0)
    line = 1.3 * (style.font - 1)
    _thin(fig.layout.xaxis, plot_w / n_x, line)
    _thin(fig.layout.yaxis, plot_h / n_y, line)
    return float(plot_h)


def _grid_fill(fig: go.Figure, style: FigureStyle, plot_w: float) -> float:
    rows, cols = np.shape(fig.data[0].z)
    plot_h = max(min(plot_w * rows / cols, MAX_MAP_PX), MIN_COLORBAR_PX + 24.0)
    font = style.font - 1
    xa, ya = fig.layout.xaxis, fig.layout.yaxis
    _thin(xa, plot_w / max(len(xa.tickvals), 1), widest(list(xa.ticktext), font) + 4)
    _thin(ya, plot_h / max(len(ya.tickvals), 1), 1.3 * font)
    return float(plot_h)


def _grid(fig: go.Figure, style: FigureStyle) -> None:
    fig.layout.xaxis.update(side="bottom", tickangle=0)
    _colorbar(fig, style)


def _head_map(fig: go.Figure, style: FigureStyle) -> None:
    """Only the heat map (the invisible click targets stay on screen); axes span exactly the heads and layers."""
    fig.data = [t for t in fig.data if t.meta != "select-cells"]
    layers, heads = np.shape(fig.data[0].z)
    for axis, count, name in (("xaxis", heads, "head"), ("yaxis", layers, "layer")):
        fig.layout[axis].update(
            side="bottom" if name == "head" else "left", range=[-0.5, count - 0.5] if name == "head" else
            [count - 0.5, -0.5], autorange=False, showgrid=False, zeroline=False, tickmode="array",
            tickvals=list(range(count)), ticktext=[str(i) for i in range(count)], title={"text": name, "standoff": 4},
            showline=False, ticks="",
        )  # fmt: skip
    _colorbar(fig, style)


def _head_map_fill(fig: go.Figure, style: FigureStyle, plot_w: float) -> float:
    layers, heads = np.shape(fig.data[0].z)
    plot_h = max(min(plot_w * layers / heads, MAX_MAP_PX), MIN_COLORBAR_PX + 24.0)
    font = style.font - 1
    _thin(fig.layout.xaxis, plot_w / heads, widest(list(fig.layout.xaxis.ticktext), font) + 3)
    _thin(fig.layout.yaxis, plot_h / layers, 1.3 * font)
    return float(plot_h)


def _confusion(fig: go.Figure, style: FigureStyle) -> None:
    _square_cells(fig, style)
    fig.layout.xaxis.tickangle = 0


def _confusion_fill(fig: go.Figure, style: FigureStyle, plot_w: float) -> float:
    labels = list(fig.layout.xaxis.ticktext or [])
    if widest(labels, style.font - 1) + 4 > plot_w / max(len(labels), 1):
        fig.layout.xaxis.tickangle = -90
    return _heatmap_fill(fig, style, plot_w)


def _sideways(fig: go.Figure, style: FigureStyle) -> None:
    """Vertical bars turned into horizontal ones: a row per category, in order from the top."""
    xa, ya = fig.layout.xaxis, fig.layout.yaxis
    if any(t.type == "bar" and t.orientation != "h" for t in fig.data):
        value_axis = {"title": {"text": ya.title.text}, "range": ya.range, "rangemode": ya.rangemode}
        for t in fig.data:
            t.update(x=t.y, y=t.x, orientation="h")
        xa.update(**value_axis, tickangle=0)
        ya.update(title={"text": None}, range=None, autorange="reversed", rangemode=None)
    cats = _categories(fig, "y")
    ya.update(tickmode="array", tickvals=cats, ticktext=[clip(c, _LABEL_SHARE * style.width, style.font - 1)
                                                         for c in cats], showgrid=False, ticks="")  # fmt: skip
    xa.update(showgrid=True, gridcolor="#e6e6e6", zeroline=True, zerolinecolor="#444", zerolinewidth=1)
    fig.update_layout(bargap=0.2, bargroupgap=0.05)


def _bars_fill(fig: go.Figure, style: FigureStyle, plot_w: float) -> float:
    groups = sum(t.type == "bar" for t in fig.data)
    row = max(1.35 * (style.font - 1), 5 * groups + 4)  # one line of label, or room for each bar of a group
    return float(max(len(fig.layout.yaxis.tickvals or []) * row + 8, 60.0))


def _tokens(fig: go.Figure, style: FigureStyle) -> None:
    _colorbar(fig, style, horizontal=True)


def _tokens_fill(fig: go.Figure, style: FigureStyle, plot_w: float) -> float:
    """Tokens re-wrapped into rows as wide as the plot (in monospace columns), never squeezed. Shapes and
    notes are edited as plain dicts and set once: Plotly validates every property set (17 s at 512 tokens)."""
    font = style.font
    columns = max(10, int(plot_w / (0.61 * font)) - 1)  # DejaVu Sans Mono advances 0.602 em
    shapes = [s.to_plotly_json() for s in fig.layout.shapes]
    notes = [n.to_plotly_json() for n in fig.layout.annotations]
    x, line = 0.0, 0
    for shape, note in zip(shapes, notes, strict=False):
        w = shape["x1"] - shape["x0"] + 0.3
        if w > columns:  # a token longer than a row (a URL): cut, its full text is in the data files
            w = columns
            note["text"] = clip(note["text"], (columns - 1.5) * 0.6 * font, font)
        if x and x + w > columns:
            x, line = 0.0, line + 1
        shape.update(x0=x, x1=x + w - 0.3, y0=-line - 0.4, y1=-line + 0.4)
        note.update(x=x + (w - 0.3) / 2, y=-line, font={**note.get("font", {}), "size": font})
        x += w
    fig.layout.shapes, fig.layout.annotations = shapes, notes  # replaced whole: update_layout merges one by one
    fig.layout.xaxis.range = [-0.5, columns + 0.5]
    fig.layout.yaxis.range = [-line - 0.6, 0.6]
    return (line + 1.2) * 1.8 * font


def _curves(fig: go.Figure, style: FigureStyle) -> None:
    fig.layout.xaxis.update(showgrid=False, zeroline=False)
    fig.layout.yaxis.update(showgrid=True, gridcolor="#e6e6e6", zeroline=False)


def _curves_fill(fig: go.Figure, style: FigureStyle, plot_w: float) -> float:
    cats = _categories(fig, "x")
    if cats:  # categorical steps (the sanity check): turned when they do not fit side by side
        crowded = sum(widest([c], style.font - 1) + 6 for c in cats) > plot_w
        fig.layout.xaxis.update(tickangle=-90 if crowded else 0, range=[-0.5, len(cats) - 0.5], autorange=False)
    return max(0.62 * plot_w, 170.0)


KINDS: dict[str, Kind] = {
    "heatmap": Kind(_square_cells, _heatmap_fill),
    "grid": Kind(_grid, _grid_fill),
    "head-map": Kind(_head_map, _head_map_fill),
    "confusion": Kind(_confusion, _confusion_fill),
    "hbars": Kind(_sideways, _bars_fill),
    "tokens": Kind(_tokens, _tokens_fill, wrap_notes=False),
    "curves": Kind(_curves, _curves_fill),
}
