"""Export panels: every view to PNG/SVG/PDF/HTML, its data to CSV/JSON, or all of it as one zip.

Files are built only when a button is clicked (Streamlit runs the callable then), so an export panel
costs nothing on a page's normal reruns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from explain import export
from explain.rendering import to_static

FIGURE_FORMATS = ("png", "svg", "pdf", "html")


@dataclass(frozen=True)
class FigureExport:
    """A figure as on screen; ``html`` overrides the interactive version (bertviz's own views)."""

    name: str  # file stem
    title: str
    build: Callable[[], go.Figure] | None = None
    html: Callable[[], str] | None = None


@dataclass(frozen=True)
class DataExport:
    name: str  # file stem
    title: str
    build: Callable[[], dict[str, Any]]  # JSON-ready, provenance included
    csv: Callable[[Mapping[str, Any]], bytes]


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:60] or "figure"


def figure_bytes(item: FigureExport, fmt: str, scale: float, caption: str) -> bytes:
    """One figure in one format, captioned with its provenance (what the export buttons deliver)."""
    if fmt == "html":
        if item.html is not None:
            return item.html().encode("utf-8")
        assert item.build is not None
        return export.figure_html(export.with_caption(item.build(), caption), item.title)
    if item.build is None:
        raise ValueError(f"'{item.title}' exists as interactive HTML only.")
    return to_static(export.with_caption(item.build(), caption), fmt, scale)  # type: ignore[arg-type]


def bundle_bytes(
    figures: Sequence[FigureExport], data: Sequence[DataExport], prov: export.Provenance, scale: float
) -> bytes:
    """Every figure as SVG, PDF and PNG (and HTML), every data set as JSON and CSV, and a manifest."""
    caption = prov.caption()
    files: dict[str, bytes] = {}
    for item in figures:
        for fmt in ("svg", "pdf", "png") if item.build is not None else ():
            files[f"figures/{item.name}.{fmt}"] = figure_bytes(item, fmt, scale, caption)
        files[f"figures/{item.name}.html"] = figure_bytes(item, "html", scale, caption)
    for d in data:
        payload = d.build()
        files[f"data/{d.name}.json"] = export.to_json(payload)
        files[f"data/{d.name}.csv"] = d.csv(payload)
    return export.zip_bundle(files, prov.manifest())


def export_panel(
    key: str, figures: Sequence[FigureExport], data: Sequence[DataExport], prov: export.Provenance
) -> None:
    """The export expander of a page: one figure, one data set, or everything."""
    with st.expander("Export figures and data", icon=":material/download:"):
        c1, c2, c3 = st.columns([3, 1, 1])
        titles = [f.title for f in figures]
        title = c1.selectbox("Figure", titles, key=f"export.{key}.figure")
        item = figures[titles.index(title)] if title in titles else figures[0]
        formats = FIGURE_FORMATS if item.build is not None else ("html",)
        fmt = c2.selectbox("Format", formats, key=f"export.{key}.format", format_func=str.upper)
        scale = c3.select_slider(
            "PNG scale", [1, 2, 3, 4], value=2, key=f"export.{key}.scale",
            help="Pixels per figure unit: 2 is sharp on screens, 4 suits print (about 300 dpi at 6 inches wide).",
        )  # fmt: skip
        caption = prov.caption()
        st.download_button(
            f"Download {title} ({fmt.upper()})",
            data=lambda: figure_bytes(item, fmt, scale, caption),
            file_name=f"{item.name}.{fmt}",
            mime=export.MIME[fmt],
            key=f"export.{key}.download",
            on_click="ignore",
        )
        st.caption(f"Figures carry a caption line: {caption}")
        cols = st.columns(max(1, len(data)) + 1)
        for col, d in zip(cols, data, strict=False):
            col.download_button(
                f"{d.title} (JSON)", data=lambda d=d: export.to_json(d.build()), file_name=f"{d.name}.json",
                mime=export.MIME["json"], key=f"export.{key}.{d.name}_json", on_click="ignore",
            )  # fmt: skip
            col.download_button(
                f"{d.title} (CSV)", data=lambda d=d: d.csv(d.build()), file_name=f"{d.name}.csv",
                mime=export.MIME["csv"], key=f"export.{key}.{d.name}_csv", on_click="ignore",
            )  # fmt: skip
        cols[-1].download_button(
            "Everything (zip)", data=lambda: bundle_bytes(figures, data, prov, scale), file_name=f"glimpse-{key}.zip",
            mime=export.MIME["zip"], key=f"export.{key}.zip", type="primary", on_click="ignore",
            help="All figures as SVG, PDF, PNG and HTML, the data as JSON and CSV, and manifest.json "
            "(model and weight hash, text, method, baseline, steps, δ, library versions, time).",
        )  # fmt: skip


def attention_panel(cur: Any, view: Any, hide: bool, merge: bool) -> None:
    """Export panel of the Attention page (``cur``: ui.Current, ``view``: explain.AttentionView)."""
    import explain
    from explain import figures
    from explain.attention_html import bertviz_html, layers_within_budget

    bundle, enc = cur.bundle, cur.result.encoding
    info = bundle.info
    layer = int(st.session_state.get("attention.layer", 0))
    head = int(st.session_state.get("attention.head", 0))
    residual = float(st.session_state.get("attention.residual", 0.5))
    fusion = explain.HeadFusion(st.session_state.get("attention.fusion", "mean"))
    mode = ("words" if merge else "tokens") + (", [CLS]/[SEP] hidden" if hide else "")
    prov = export.provenance(
        bundle, enc.text, enc.text_b, "attention", method=f"attention weights ({mode})",
        extra={"layer": layer, "head": head, "merge_words": merge, "hide_special": hide,
               "rollout_residual": residual, "rollout_fusion": fusion.value},
    )  # fmt: skip

    def rollout_data() -> dict[str, Any]:
        labels, values = explain.rollout_relevance(
            explain.rollout(cur.result.weights, residual, fusion), enc, hide_special=hide, merge_words=merge
        )
        return {"kind": "rollout", "labels": list(labels), "rollout": values.astype(float).tolist(),
                "residual": residual, "fusion": fusion.value, "provenance": prov.manifest()}  # fmt: skip

    n = len(view.labels)
    layers = layers_within_budget(n, info.num_layers, info.num_heads, selected=layer)
    figs = [
        FigureExport(f"attention-L{layer}-H{head}", f"Layer {layer}, head {head}",
                     lambda: figures.attention_heatmap(view.weights[layer, head], view.labels,
                                                       f"Layer {layer}, head {head}")),
        FigureExport(f"attention-L{layer}-mean", f"Layer {layer}, mean of heads",
                     lambda: figures.attention_heatmap(view.weights[layer].mean(0), view.labels,
                                                       f"Layer {layer}, mean of its {info.num_heads} heads")),
        FigureExport("attention-grid", "Layer × head grid", lambda: figures.head_grid(view.weights)),
        FigureExport("attention-rollout", "Attention rollout",
                     lambda: figures.relevance_bars(rollout_data()["labels"], rollout_data()["rollout"],
                                                    "How much [CLS] draws from each input")),
    ]  # fmt: skip
    if layers:
        for kind in ("head", "model"):
            figs.append(FigureExport(
                f"bertviz-{kind}-view", f"bertviz {kind} view (interactive HTML)",
                html=lambda kind=kind: bertviz_html(kind, view.weights, view.labels,  # type: ignore[misc]
                                                    sentence_b_start=view.sentence_b_start, layers=layers,
                                                    header=prov.caption()),
            ))  # fmt: skip
    data = [
        DataExport(f"attention-L{layer}-H{head}", f"Layer {layer} head {head}",
                   lambda: export.attention_data(view.weights, view.labels, [layer], [head], prov),
                   export.attention_csv),
        DataExport("attention-all", "All layers and heads",
                   lambda: export.attention_data(view.weights, view.labels, range(info.num_layers),
                                                 range(info.num_heads), prov), export.attention_csv),
        DataExport("rollout", "Rollout", rollout_data, export.attribution_csv),
    ]  # fmt: skip
    export_panel("attention", figs, data, prov)


def attribution_panel(cur: Any, result: Any, labels: Sequence[str], scores: Any, method: str, words: bool) -> None:
    """Export panel of the Attribution page (what is on screen: the chosen method, tokens or words)."""
    import explain
    from explain import figures

    info = cur.bundle.info
    prov = export.attribution_provenance(cur.bundle, result, method)
    what = f"{method} for '{info.labels[result.target]}'"

    def data() -> dict[str, Any]:
        series = {"grad_x_input": result.grad_x_input, "saliency": result.saliency}
        if words:
            series = {k: explain.word_scores(v, result.encoding)[1] for k, v in series.items()}
            ig = explain.word_scores(result.scores, result.encoding)[1]
        else:
            ig = result.scores
        return export.attribution_data(labels, ig, prov, **series)

    figs = [
        FigureExport("attribution-tokens", "Coloured tokens", lambda: figures.token_figure(labels, scores, what, what)),
        FigureExport("attribution-bars", "Sorted bars",
                     lambda: figures.attribution_bars(labels, scores, f"{method}, sorted", what)),
    ]  # fmt: skip
    export_panel("attribution", figs, [DataExport("attribution", "Attributions", data, export.attribution_csv)], prov)
