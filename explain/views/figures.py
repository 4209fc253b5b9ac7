"""Plotly figures of attention: result in, ``go.Figure`` out (never shown here).

Arrays go to Plotly as numpy (it sends them as base64 typed arrays; Python lists are ~4x larger and
10x slower). Token labels are escaped for Plotly's pseudo-HTML (``<a href>`` and ``<b>`` would
otherwise render), and repeated tokens are made distinct with invisible zero-width spaces so that a
categorical axis keeps one row per position.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

#: The grid shows at most this many positions per axis; longer inputs are max-pooled in blocks. A thumbnail
#: is 50-100 px wide, so 64 is already pixel resolution, and it bounds the grid's float32 data (NaN gutters
#: need floats) to ~1.2 MB on a 6 x 12 model.
GRID_MAX_CELLS = 64
_SEQUENTIAL = "Blues"
_ZW = "\u200b"


def plotly_text(text: str) -> str:
    """Text safe for Plotly's pseudo-HTML (titles, hover): label names can hold markup or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def axis_labels(labels: Sequence[str]) -> list[str]:
    """Labels safe for Plotly text and unique per position (duplicates get zero-width suffixes)."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        safe = plotly_text(label)
        unique = safe
        while unique in seen:  # a zero-width suffix keeps repeated tokens apart, even ones typed with one
            unique += _ZW
        seen[unique] = 1
        out.append(unique)
    return out


def attention_heatmap(matrix: np.ndarray, labels: Sequence[str], title: str, value: str = "weight") -> go.Figure:
    """One attention matrix (n, n): row = query token (who attends), column = key token (attended to).

    ``value`` names what the cells hold ("weight", or "‖αf(x)‖" for norm-based attention)."""
    ticks = axis_labels(labels)
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(matrix, dtype=np.float32),
            x=ticks,
            y=ticks,
            colorscale=_SEQUENTIAL,
            zmin=0.0,
            colorbar={"title": {"text": value}},
            hovertemplate=f"query <b>%{{y}}</b> → key <b>%{{x}}</b><br>{value} %{{z:.4f}}<extra></extra>",
        )
    )
    side = min(900, 260 + 14 * len(labels))
    every = {"tickmode": "array", "tickvals": ticks, "ticktext": ticks} if len(ticks) <= 64 else {}  # no thinning
    fig.update_layout(
        title={"text": plotly_text(title)},
        height=side,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        xaxis={"title": {"text": "key (attended to)"}, "side": "top", "tickangle": -60, **every},
        yaxis={"title": {"text": "query (attending)"}, "autorange": "reversed", **every},
    )
    return fig


def head_grid(weights: np.ndarray) -> go.Figure:
    """Small multiples: one thumbnail per (layer, head) of weights (layers, heads, n, n), as ONE heatmap.

    The thumbnails are tiles of one array with NaN gaps between them: one trace draws and exports far
    faster than layers x heads subplots (72 on a 6 x 12 model). Values are whole percents (exact values
    are one hover away in the per-head heatmap); inputs longer than GRID_MAX_CELLS are max-pooled in blocks.
    """
    n_layers, n_heads = weights.shape[:2]
    pooled, block = _pool(weights)
    m = pooled.shape[-1]
    gap = max(1, m // 12)  # a visible gutter at any length
    tiles = np.full((n_layers, m + gap, n_heads, m + gap), np.nan, dtype=np.float32)  # float: NaN is the gutter
    tiles[:, :m, :, :m] = np.rint(pooled * 100).transpose(0, 2, 1, 3)  # (layer, query, head, key)
    z = tiles.reshape(n_layers * (m + gap), n_heads * (m + gap))[:-gap, :-gap]
    x = _grid_positions("head", "key", n_heads, weights.shape[-1], block, gap)
    y = _grid_positions("layer", "query", n_layers, weights.shape[-1], block, gap)
    fig = go.Figure(
        go.Heatmap(
            z=z,  # [layers * (m + gap) - gap, heads * (m + gap) - gap]
            x=x,
            y=y,
            colorscale=_SEQUENTIAL,
            zmin=0,
            zmax=100,
            hoverongaps=False,
            colorbar={"title": {"text": "%"}, "thickness": 12},
            hovertemplate="%{y}<br>%{x}<br>≈ %{z}%<extra></extra>",
        )
    )
    centre = (m - 1) // 2  # the tick of a tile sits on its middle column/row
    fig.update_layout(
        height=max(300, 70 * n_layers + 80),
        margin={"l": 50, "r": 10, "t": 40, "b": 10},
        xaxis={"side": "top", "tickmode": "array", "tickvals": [x[h * (m + gap) + centre] for h in range(n_heads)],
               "ticktext": [f"H{h}" for h in range(n_heads)], "showgrid": False, "zeroline": False},
        yaxis={"autorange": "reversed", "tickmode": "array", "ticktext": [f"L{i}" for i in range(n_layers)],
               "tickvals": [y[i * (m + gap) + centre] for i in range(n_layers)], "showgrid": False,
               "zeroline": False},
        plot_bgcolor="white",
    )  # fmt: skip
    return fig


def _grid_positions(outer: str, inner: str, count: int, n: int, block: int, gap: int) -> list[str]:
    """Category labels along one grid axis, one per cell ('layer 1 · query 3', or 'query 8–11' when pooled),
    and distinct blanks in the gutters (categories must be distinct)."""
    cells = [f"{j}" if block == 1 else f"{j * block}–{min(n, (j + 1) * block) - 1}" for j in range(-(-n // block))]
    labels: list[str] = []
    for i in range(count):
        labels.extend(f"{outer} {i} · {inner} {c}" for c in cells)
        if i < count - 1:
            labels.extend(_ZW * (i * gap + g + 1) for g in range(gap))
    return labels


def relevance_bars(labels: Sequence[str], values: np.ndarray, title: str) -> go.Figure:
    """Per-token relevance as bars, in text order."""
    ticks = axis_labels(labels)
    fig = go.Figure(
        go.Bar(
            x=ticks,
            y=np.asarray(values, dtype=np.float32),
            marker_color="#2166ac",
            hovertemplate="<b>%{x}</b><br>relevance %{y:.4f}<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": plotly_text(title)},
        height=360,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        yaxis={"title": {"text": "share of [CLS]'s rolled-out attention"}, "rangemode": "tozero"},
        xaxis={"tickangle": -60},
    )
    return fig


def _pool(weights: np.ndarray) -> tuple[np.ndarray, int]:
    n = weights.shape[-1]
    block = -(-n // GRID_MAX_CELLS)
    if block == 1:
        return weights, 1
    m = -(-n // block)
    padded = np.zeros((*weights.shape[:2], m * block, m * block), dtype=weights.dtype)
    padded[..., :n, :n] = weights
    return padded.reshape(*weights.shape[:2], m, block, m, block).max(axis=(3, 5)), block


def attribution_bars(labels: Sequence[str], scores: np.ndarray, title: str, what: str) -> go.Figure:
    """Scores sorted from most positive to most negative, coloured on the same diverging scale."""
    from explain.views.highlight import color_limit, diverging_color

    order = np.argsort(-np.asarray(scores))
    limit = color_limit(scores)  # NaN scores (and none at all) leave the scale finite
    ticks = axis_labels(labels)
    fig = go.Figure(
        go.Bar(
            x=np.asarray(scores, dtype=np.float64)[order],
            y=[ticks[i] for i in order],
            orientation="h",
            marker_color=[diverging_color(float(scores[i]), limit) for i in order],
            marker_line={"color": "#888", "width": 0.5},
            hovertemplate=f"<b>%{{y}}</b><br>{plotly_text(what)} %{{x:+.4f}}<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": plotly_text(title)},
        height=min(1400, 120 + 22 * len(labels)),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        xaxis={"title": {"text": plotly_text(what)}, "zeroline": True, "zerolinecolor": "#444"},
        yaxis={"autorange": "reversed"},
    )
    return fig


def token_figure(
    labels: Sequence[str], scores: np.ndarray, title: str, what: str, *, signed: bool = True, width_chars: int = 90
) -> go.Figure:
    """The coloured-token view as a figure (for static export): same colours and legend as on screen."""
    import unicodedata

    from explain.views.highlight import color_limit, diverging_color, text_color

    limit = color_limit(scores)  # NaN scores (and none at all) leave the scale finite

    def columns(text: str) -> int:  # wide (CJK, emoji) characters take two monospace columns
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text) or 1

    fig = go.Figure()
    x, line = 0, 0
    shapes, notes = [], []  # set once below: add_shape/add_annotation per token is quadratic (36 s at 512)
    for label, score in zip(labels, np.asarray(scores, dtype=np.float64), strict=True):
        w = columns(label) + 1
        if x and x + w > width_chars:
            x, line = 0, line + 1
        color = diverging_color(float(score), limit)
        shapes.append({"type": "rect", "x0": x, "x1": x + w - 0.3, "y0": -line - 0.4, "y1": -line + 0.4,
                       "fillcolor": color, "line": {"width": 0}, "layer": "below"})  # fmt: skip
        notes.append({"x": x + (w - 0.3) / 2, "y": -line, "text": axis_labels([label])[0], "showarrow": False,
                      "font": {"family": "DejaVu Sans Mono, Noto Sans Mono, monospace", "size": 13,
                               "color": text_color(color)},
                      "hovertext": f"{plotly_text(what)} {score:+.4f}"})  # fmt: skip
        x += w
    fig.update_layout(shapes=shapes, annotations=notes)
    # an invisible heatmap carries the colour bar (the legend), on the same scale as the screen
    fig.add_trace(go.Heatmap(z=[[-limit if signed else 0.0, limit]], x=[0, 1], y=[-1000, -1000], showscale=True,
                             colorscale=_rdbu_scale(signed), opacity=0, hoverinfo="skip",
                             colorbar={"title": {"text": plotly_text(what)}, "thickness": 12}))  # fmt: skip
    fig.update_layout(
        title={"text": plotly_text(title)},
        width=max(500, int(width_chars * 8.4) + 140),
        height=140 + 34 * (line + 1),
        xaxis={"visible": False, "range": [-0.5, width_chars + 0.5]},
        yaxis={"visible": False, "range": [-line - 0.7, 0.7]},
        margin={"l": 10, "r": 10, "t": 50, "b": 20},
        plot_bgcolor="white",
    )
    return fig


def _rdbu_scale(signed: bool) -> list[list[object]]:
    from explain.views.highlight import RDBU

    colours = RDBU if signed else RDBU[5:]
    return [[i / (len(colours) - 1), c] for i, c in enumerate(colours)]


def entity_matrix_heatmap(matrix: np.ndarray, entities: Sequence[str], tokens: Sequence[str], title: str) -> go.Figure:
    """Every entity's IG scores over the tokens (entities, tokens): one row per explained tag, signed, on the
    diverging scale of the coloured tokens (red: towards the tag, blue: away), centred at zero."""
    z = np.asarray(matrix, dtype=np.float64)  # (entities, tokens)
    limit = float(np.nanmax(np.abs(z))) if z.size and np.isfinite(z).any() else 1.0
    x, y = axis_labels(tokens), axis_labels(entities)
    fig = go.Figure(
        go.Heatmap(
            z=z, x=x, y=y, colorscale=_rdbu_scale(True), zmin=-(limit or 1.0), zmax=limit or 1.0,
            colorbar={"title": {"text": "IG score"}},
            hovertemplate="entity <b>%{y}</b><br>token <b>%{x}</b><br>IG %{z:+.4f}<extra></extra>",
        )
    )  # fmt: skip
    every = {"tickmode": "array", "tickvals": x, "ticktext": x} if len(x) <= 64 else {}
    fig.update_layout(
        title={"text": plotly_text(title)},
        height=min(900, 220 + 28 * len(entities)),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        xaxis={"title": {"text": "token"}, "side": "top", "tickangle": -60, **every},
        yaxis={"title": {"text": "entity (its first token's tag)"}, "autorange": "reversed",
               "tickmode": "array", "tickvals": y, "ticktext": y},
    )  # fmt: skip
    return fig
