"""Figures of the Diagnose page: layer × head maps, faithfulness curves, the ablation sweep, the sanity check.

Result arrays in, ``go.Figure`` out (never shown here). Maps put layers down (0 at the top, as the grid on
the Attention page) and heads across, and a signed map is centred on zero with a diverging scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from explain.views.figures import plotly_text
from explain.views.highlight import RDBU

_DIVERGING = [[i / (len(RDBU) - 1), c] for i, c in enumerate(RDBU)]  # blue = negative, red = positive (token strip too)
_PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")


def head_map(values: np.ndarray, title: str, what: str, *, signed: bool, limit: float | None = None) -> go.Figure:
    """An L×H map [layers, heads]; click a cell to pick that head (the page reads the selection)."""
    layers, heads = values.shape
    finite = np.abs(values[np.isfinite(values)])
    top = float(limit if limit is not None else (finite.max() if finite.size else 1.0)) or 1.0
    scale = (
        {"zmin": -top, "zmax": top, "colorscale": _DIVERGING}
        if signed
        else {"zmin": 0.0, "zmax": top, "colorscale": "Blues"}
    )
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(values, dtype=np.float64),
            x=list(range(heads)),
            y=list(range(layers)),
            colorbar={"title": {"text": plotly_text(what), "side": "right"}, "thickness": 12},  # not over its ticks
            xgap=1,
            ygap=1,
            hoverinfo="skip",
            **scale,
        )
    )
    # Plotly cannot select a heatmap's cells, so a near-invisible marker on each cell carries the hover and
    # the click: clicking it selects a point, which the page reads as "open this head"
    cells = np.array([(h, la) for la in range(layers) for h in range(heads)])
    fig.add_trace(
        go.Scatter(
            x=cells[:, 0],
            y=cells[:, 1],
            customdata=np.asarray(values, dtype=np.float64).ravel(),
            mode="markers",
            hovertemplate=f"layer %{{y}} · head %{{x}}<br>{plotly_text(what)} %{{customdata:+.4f}}<extra></extra>",
            showlegend=False,
            meta="select-cells",  # print_kinds drops it: a static figure has nothing to click
            marker={"symbol": "square", "size": 30, "opacity": 0.01, "color": "#000"},
        )
    )
    # Axes span exactly the cells (autorange pads for the click markers: heads -1..12 for 0..11), and the
    # title sits in a band of its own above the head ticks and their title (they collided in 50 px).
    fig.update_layout(
        title={"text": plotly_text(title), "y": 1, "yref": "container", "yanchor": "top", "pad": {"t": 10}},
        height=max(290, 36 * layers + 140),
        margin={"l": 10, "r": 10, "t": 90, "b": 10},
        # automargin set here, not left to the template: Streamlit's own template (the default once streamlit
        # is imported) has none, and the 10 px margins then cut the layer ticks and stack "layer" on them
        xaxis={"title": {"text": "head", "standoff": 6}, "side": "top", "range": [-0.5, heads - 0.5],
               "automargin": True, "tickmode": "array", "tickvals": list(range(heads)), "zeroline": False,
               "showgrid": False},
        yaxis={"title": {"text": "layer", "standoff": 6}, "range": [layers - 0.5, -0.5], "tickmode": "array",
               "automargin": True, "tickvals": list(range(layers)), "zeroline": False, "showgrid": False},
        clickmode="event+select",
    )  # fmt: skip
    return fig


def curves_figure(
    fractions: np.ndarray,
    curves: Mapping[str, np.ndarray],
    band: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    title: str,
    y_title: str,
    x_title: str,
) -> go.Figure:
    """One line per method against the share of tokens perturbed; ``band`` = random (mean, low, high)."""
    fig = go.Figure()
    x = np.asarray(fractions, dtype=np.float64) * 100
    if band is not None:
        mean, low, high = band
        outline = {"x": np.r_[x, x[::-1]], "y": np.r_[high, low[::-1]], "fill": "toself", "line": {"width": 0}}
        fig.add_trace(
            go.Scatter(**outline, fillcolor="rgba(128,128,128,0.25)", name="random (range)", hoverinfo="skip")
        )
        fig.add_trace(go.Scatter(x=x, y=mean, name="random (mean)", line={"color": "#888", "dash": "dot"}))
    for (name, values), color in zip(curves.items(), _PALETTE, strict=False):
        fig.add_trace(
            go.Scatter(
                x=x, y=values, name=plotly_text(name), mode="lines+markers", line={"color": color}, marker={"size": 5}
            )
        )
    fig.update_layout(
        title={"text": plotly_text(title)},
        height=380,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        xaxis={"title": {"text": x_title}, "ticksuffix": "%"},
        yaxis={"title": {"text": plotly_text(y_title)}},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def sanity_figure(steps: Sequence[str], correlations: Mapping[str, np.ndarray], threshold: float) -> go.Figure:
    """Rank correlation with the original explanation as the model is randomised, step by step."""
    fig = go.Figure()
    for (name, values), color in zip(correlations.items(), _PALETTE, strict=False):
        fig.add_trace(
            go.Scatter(x=list(steps), y=values, name=plotly_text(name), mode="lines+markers", line={"color": color})
        )
    note = "flagged above this at full randomisation"
    fig.add_hline(
        y=threshold, line={"dash": "dash", "color": "#b2182b"}, annotation_text=note, annotation_position="top left"
    )
    fig.update_layout(
        title={"text": "Sanity check: do the explanations change when the model is destroyed?"},
        height=380,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        xaxis={"title": {"text": "randomised so far (cumulative, top down)"}},
        yaxis={"title": {"text": "Spearman ρ with the original"}, "range": [-1.05, 1.05]},
        legend={"orientation": "h", "y": -0.3},
    )
    return fig
