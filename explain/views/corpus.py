"""Figures and exports of the Corpus page: accuracy, the rows table, top words per class, head statistics, AOPC.

Results (a table and a summary, :func:`explain.corpus.read_results`) in; figures and files out.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pyarrow as pa

from explain.export import files as export
from explain.views import diagnostics
from explain.views.exports import DataExport, FigureExport, ViewExports
from explain.views.figures import plotly_text

#: What each per-head statistic means, for titles and tooltips.
STAT_HELP = {
    "entropy": "attention entropy in bits (mean over queries): low = a head that looks at few tokens",
    "to_cls": "share of attention on [CLS] (mean over queries)",
    "to_sep": "share of attention on the separators ([SEP]) (mean over queries)",
    "to_punct": "share of attention on punctuation (mean over queries)",
    "agreement": "Spearman ρ of the [CLS] row's attention with |IG| (tokens, specials left out)",
}
TABLE_COLUMNS = (
    "number",
    "text",
    "label",
    "predicted_label",
    "confidence",
    "correct",
    "relative_delta",
    "token_error",
    "certified",
    "n_steps",
    "tokens",
    "status",
    "error",
)


#: The stored columns :func:`rows_table` needs (``n_tokens``: see :func:`explain.corpus.storage.read_columns`).
SOURCE_COLUMNS = ("number", "text", "text_b", "label", "status", "error", "predicted", "predicted_label",
                  "probabilities", "relative_delta", "token_error", "converged", "n_steps", "n_tokens")  # fmt: skip


def rows_table(table: pa.Table, labels: Sequence[str]) -> dict[str, list[Any]]:
    """The columns the page's table shows, one entry per row (confidence = the predicted class's probability).
    ``labels`` are the run's own (its plan.json), not the model loaded now: a label id names a class of the
    model that computed the row."""
    rows = table.to_pylist()
    out: dict[str, list[Any]] = {c: [] for c in TABLE_COLUMNS}
    for r in rows:
        ok = r["status"] == "ok"
        out["number"].append(r["number"])
        out["text"].append(r["text"] if r["text_b"] is None else f"{r['text']} ‖ {r['text_b']}")
        out["label"].append(None if r["label"] is None else _label_name(labels, r["label"]))
        out["predicted_label"].append(r.get("predicted_label") if ok else None)
        out["confidence"].append(max(r["probabilities"]) if ok else None)
        out["correct"].append(None if not ok or r["label"] is None else r["label"] == r["predicted"])
        out["relative_delta"].append(r.get("relative_delta") if ok else None)
        out["token_error"].append(r.get("token_error") if ok else None)
        out["certified"].append(r.get("converged") if ok else None)
        out["n_steps"].append(r.get("n_steps") if ok else None)
        out["tokens"].append((r["n_tokens"] if "n_tokens" in r else len(r["tokens"])) if ok else None)
        out["status"].append(r["status"])
        out["error"].append(r["error"])
    return out


def _label_name(labels: Sequence[str], label: int) -> str:
    return labels[label] if 0 <= label < len(labels) else f"class {label}"


def confusion_figure(accuracy: dict[str, Any]) -> go.Figure:
    labels = [plotly_text(str(label)) for label in accuracy["labels"]]
    matrix = np.array(accuracy["confusion"])
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=labels,
            y=labels,
            colorscale="Blues",
            text=matrix,
            texttemplate="%{text}",
            hovertemplate="true %{y} → predicted %{x}: %{z}<extra></extra>",
            showscale=False,
        )
    )
    fig.update_layout(
        title={"text": f"Confusion matrix (accuracy {accuracy['accuracy']:.1%})"},
        height=320,
        xaxis={"title": {"text": "predicted"}},
        yaxis={"title": {"text": "true"}, "autorange": "reversed"},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig


def top_words_figure(by_class: dict[str, dict[str, list[dict[str, Any]]]], label: str, min_count: int) -> go.Figure:
    words = by_class[label]["for"][::-1]
    fig = go.Figure(
        go.Bar(
            x=[w["mean_ig"] for w in words],
            y=[plotly_text(w["word"]) for w in words],
            orientation="h",
            customdata=[w["count"] for w in words],
            marker_color="#b2182b",
            hovertemplate="<b>%{y}</b><br>mean IG %{x:+.3f} over %{customdata} rows<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": plotly_text(f"Words with the most evidence for '{label}' (seen ≥ {min_count} times)")},
        height=120 + 22 * len(words),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        xaxis={"title": {"text": "mean IG toward the class"}},
    )
    return fig


def head_stat_figure(means: dict[str, list[list[float | None]]], name: str) -> go.Figure:
    values = np.array([[np.nan if v is None else v for v in row] for row in means[name]], dtype=np.float64)
    signed = name == "agreement"
    return diagnostics.head_map(
        values, f"Mean over the corpus: {STAT_HELP[name]}", name, signed=signed, limit=1.0 if signed else None
    )


def aopc_figure(faithfulness: dict[str, float]) -> go.Figure:
    names = [k.split("_", 1)[1] for k in faithfulness if k.startswith("comprehensiveness_")]  # "{kind}_{method}"
    fig = go.Figure()
    for metric, color in (("comprehensiveness", "#1b9e77"), ("sufficiency", "#d95f02")):
        fig.add_trace(
            go.Bar(
                x=[plotly_text(n.replace("_", " ")) for n in names],
                y=[faithfulness.get(f"{metric}_{n}") for n in names],
                name=metric,
                marker_color=color,
            )
        )
    fig.update_layout(
        title={"text": "Mean AOPC per method (comprehensiveness ↑, sufficiency ↓)"},
        barmode="group",
        height=360,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig


def corpus_exports(
    name: str, summary: dict[str, Any], plan: dict[str, Any], shown: dict[str, list[Any]]
) -> ViewExports:
    """Every figure of the page and the filtered table; the manifest is the run's own plus the filter."""
    prov = export.Provenance(
        model=str(plan.get("model", {}).get("source", "")),
        weights_sha256=str(plan.get("model", {}).get("weights_sha256", "")),
        tokenizer="",
        labels=tuple(plan.get("model", {}).get("labels", ())),
        text=name,
        text_b=None,
        task="corpus",
        extra={"results": name, "rows_shown": len(shown["number"])},
    )
    figs: list[FigureExport] = []
    if summary.get("accuracy"):
        figs.append(
            FigureExport(
                "confusion", "Confusion matrix", lambda: confusion_figure(summary["accuracy"]), kind="confusion"
            )
        )
    words = summary["top_words"]
    for label in words["by_class"]:
        figs.append(
            FigureExport(
                f"top-words-{_stem(label)}",
                f"Top words for {label}",
                partial(top_words_figure, words["by_class"], label, words["min_count"]),
                kind="hbars",
            )
        )
    for stat in summary["head_statistics"]["mean"]:
        figs.append(
            FigureExport(
                f"heads-{stat}",
                f"Mean {stat} per head",
                partial(head_stat_figure, summary["head_statistics"]["mean"], stat),
                kind="head-map",
            )
        )
    if summary.get("faithfulness"):
        figs.append(
            FigureExport("aopc", "Mean AOPC per method", lambda: aopc_figure(summary["faithfulness"]), kind="hbars")
        )
    columns = list(shown)
    rows = [[shown[c][i] for c in columns] for i in range(len(shown["number"]))]
    table = DataExport(
        "rows",
        "Rows shown",
        lambda: {
            "kind": "corpus-rows",
            "columns": columns,
            "rows": rows,
            "summary": summary,
            "provenance": prov.manifest(),
        },
        export.table_csv,
    )
    return ViewExports(tuple(figs), (table,), prov, choices=repr(len(rows)))


def _stem(label: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in label)[:30] or "class"
