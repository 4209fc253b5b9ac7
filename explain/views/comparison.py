"""Figures and exports of the Compare page: attributions side by side with their Δ, and head maps.

Both inputs (or both models) are named in every caption and manifest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from explain.compare.alignment import Alignment, Op
from explain.compare.attribution import WordDelta
from explain.compare.models import ModelComparisonResult
from explain.compare.sentences import SentenceComparisonResult
from explain.export import files as export
from explain.models.loading import ModelBundle
from explain.views import diagnostics
from explain.views.exports import DataExport, FigureExport, ViewExports
from explain.views.figures import axis_labels, plotly_text

_MARK = {Op.INSERT: " (+)", Op.DELETE: " (−)", Op.REPLACE: " (≠)", Op.EQUAL: ""}


def row_labels(alignment: Alignment) -> list[str]:
    """One label per aligned row: the word (A → B when replaced), marked + inserted, − deleted."""
    out = []
    for r in alignment.rows:
        a, b = alignment.word_a(r), None if r.b is None else alignment.encoding_b.words[r.b]
        word = f"{a} → {b}" if r.op is Op.REPLACE else (a if a is not None else b) or ""
        out.append(word + _MARK[r.op])
    return out


def delta_figure(alignment: Alignment, words: WordDelta, names: tuple[str, str], what: str) -> go.Figure:
    """Per aligned word: IG under A, under B, and Δ = B − A, on one scale."""
    return delta_bars(row_labels(alignment), words, names, what)


def delta_bars(labels: list[str], words: WordDelta, names: tuple[str, str], what: str) -> go.Figure:
    """The bars of :func:`delta_figure`, one group per label (a row of the alignment)."""
    ticks = axis_labels(labels)
    fig = go.Figure()
    for values, name, color in (
        (words.scores_a, names[0], "#92c5de"),
        (words.scores_b, names[1], "#f4a582"),
        (words.delta, f"Δ = {names[1]} − {names[0]}", "#444444"),
    ):
        fig.add_trace(
            go.Bar(
                x=ticks,
                y=values,
                name=plotly_text(name),
                marker_color=color,
                hovertemplate=f"<b>%{{x}}</b><br>{plotly_text(name)} %{{y:+.4f}}<extra></extra>",
            )
        )
    fig.update_layout(
        title={"text": plotly_text(f"{what}: {names[0]}, {names[1]} and their difference per word")},
        barmode="group",
        height=420,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        yaxis={"title": {"text": plotly_text(what)}, "range": [-1.05 * words.limit, 1.05 * words.limit]},
        xaxis={"tickangle": -45},
        legend={"orientation": "h", "y": 1.02, "x": 0},
    )
    return fig


def similarity_map(result: ModelComparisonResult) -> go.Figure:
    sim = result.similarity
    return diagnostics.head_map(
        sim.best_correlation, f"Best-matching head in {result.model_b} (Pearson r)", "r", signed=True, limit=1.0
    )


def sentence_exports(bundle: ModelBundle, r: SentenceComparisonResult) -> ViewExports:
    enc_a, enc_b = r.alignment.encoding_a, r.alignment.encoding_b
    prov = export.provenance(
        bundle,
        enc_a.text,
        enc_b.text,
        "compare sentences",
        method="IG per aligned word; JS divergence per head",
        target=None if r.target is None else bundle.info.labels[r.target],
        extra={"text_a": enc_a.text, "pair_a": enc_a.text_b, "text_b": enc_b.text, "pair_b": enc_b.text_b},
    )
    figs = [
        FigureExport(
            "divergence",
            "Attention divergence per head",
            lambda: diagnostics.head_map(
                r.divergence, "Attention divergence A vs B (JS, bits)", "JS", signed=False, limit=1.0
            ),
            kind="head-map",
        )
    ]
    if r.words is not None:
        words = r.words
        figs.insert(
            0,
            FigureExport(
                "delta",
                "IG of A and B with Δ",
                lambda: delta_figure(r.alignment, words, ("A", "B"), "integrated gradients"),
                kind="hbars",
            ),
        )
    data = [
        DataExport("words", "Aligned words", lambda: _words(r.alignment, r.words, prov), export.table_csv),
        DataExport("heads", "Divergence per head", lambda: _map(r.divergence, "js_divergence", prov), export.table_csv),
    ]
    return ViewExports(tuple(figs), tuple(data), prov)


def model_exports(bundle_a: ModelBundle, r: ModelComparisonResult) -> ViewExports:
    enc = r.alignment.encoding_a
    prov = export.provenance(
        bundle_a,
        enc.text,
        enc.text_b,
        "compare models",
        method="IG per typed word; best-matching heads",
        extra={"model_a": r.model_a, "model_b": r.model_b, "tokenizers_differ": r.tokenizers_differ},
    )
    figs = [FigureExport("head-similarity", "Head similarity", lambda: similarity_map(r), kind="head-map")]
    if r.words is not None:
        words = r.words
        figs.insert(
            0,
            FigureExport(
                "delta",
                "IG of both models with Δ",
                lambda: delta_figure(r.alignment, words, ("model A", "model B"), "integrated gradients"),
                kind="hbars",
            ),
        )
    data = [
        DataExport("words", "Aligned words", lambda: _words(r.alignment, r.words, prov), export.table_csv),
        DataExport("heads", "Best matches per head", lambda: _matches(r, prov), export.table_csv),
    ]
    return ViewExports(tuple(figs), tuple(data), prov)


def _words(alignment: Alignment, words: WordDelta | None, prov: export.Provenance) -> dict[str, Any]:
    labels = row_labels(alignment)
    rows = [
        [
            labels[i],
            r.op.value,
            *([] if words is None else [float(words.scores_a[i]), float(words.scores_b[i]), float(words.delta[i])]),
        ]
        for i, r in enumerate(alignment.rows)
    ]
    columns = ["word", "op", *([] if words is None else ["ig_a", "ig_b", "delta"])]
    return {"kind": "aligned-words", "columns": columns, "rows": rows, "provenance": prov.manifest()}


def _map(values: np.ndarray, name: str, prov: export.Provenance) -> dict[str, Any]:
    rows = [[la, h, float(values[la, h])] for la in range(values.shape[0]) for h in range(values.shape[1])]
    return {"kind": "heads", "columns": ["layer", "head", name], "rows": rows, "provenance": prov.manifest()}


def _matches(r: ModelComparisonResult, prov: export.Provenance) -> dict[str, Any]:
    s = r.similarity
    rows = [
        [la, h, int(s.best_layer[la, h]), int(s.best_head[la, h]), float(s.best_correlation[la, h])]
        for la in range(s.best_layer.shape[0])
        for h in range(s.best_layer.shape[1])
    ]
    return {
        "kind": "head-matches",
        "columns": ["layer_a", "head_a", "layer_b", "head_b", "r"],
        "rows": rows,
        "provenance": prov.manifest(),
    }
