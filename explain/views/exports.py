"""What each view exports: its figures (as on screen) and its data, built lazily.

Shared by the app's export panels and ``python -m explain export``, so a file downloaded from a page
and the same file written by the batch export are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import plotly.graph_objects as go

from explain.export import files as export
from explain.export.rendering import STATIC_FORMATS, StaticFormat, render_many, to_static
from explain.methods.attention import (
    AttentionResult,
    AttentionView,
    HeadFusion,
    head_average,
    rollout,
    rollout_relevance,
)
from explain.methods.attribution import AttributionResult, word_scores
from explain.models.loading import ModelBundle
from explain.views import figures
from explain.views.bertviz import bertviz_html, layers_within_budget
from explain.views.print_style import FigureStyle, for_print

FIGURE_FORMATS = ("png", "svg", "pdf", "html")
#: Longer inputs export the chosen layer's heads instead of every layer (128 tokens: ~32 MB of JSON already).
ALL_LAYERS_MAX_TOKENS = 128
DATA_FORMATS = ("json", "csv")


@dataclass(frozen=True)
class FigureExport:
    """A figure as on screen (HTML exports it so); static files lay it out for print as ``kind`` says
    (``print_kinds.KINDS``). ``html`` overrides the interactive version (bertviz's own views)."""

    name: str  # file stem
    title: str
    build: Callable[[], go.Figure] | None = None
    html: Callable[[], str] | None = None
    kind: str = "curves"  # how print lays it out: heatmap, grid, head-map, confusion, hbars, tokens, curves

    @property
    def formats(self) -> tuple[str, ...]:
        return FIGURE_FORMATS if self.build is not None else ("html",)


@dataclass(frozen=True)
class DataExport:
    name: str  # file stem
    title: str
    build: Callable[[], dict[str, Any]]  # JSON-ready, provenance included
    csv: Callable[[Mapping[str, Any]], bytes]


@dataclass(frozen=True)
class ViewExports:
    figures: tuple[FigureExport, ...]
    data: tuple[DataExport, ...]
    provenance: export.Provenance
    choices: str = ""  # what else shapes the files (controls not in the provenance); part of ``identity``

    @property
    def identity(self) -> str:
        """Equal for two views exactly when they export the same files: a key for prepared downloads."""
        p = self.provenance
        return repr((p.model, p.weights_sha256, p.text, p.text_b, p.caption(), sorted(p.extra.items()), self.choices))


def print_figure(item: FigureExport, style: FigureStyle, caption: str, fig: go.Figure | None = None) -> go.Figure:
    """``item``'s figure laid out for print (``fig``: its on-screen figure, if already built)."""
    assert item.build is not None
    return for_print(item.build() if fig is None else fig, item.kind, style, caption)


def figure_bytes(item: FigureExport, fmt: str, style: FigureStyle | float, caption: str) -> bytes:
    """One figure in one format, captioned with its provenance; PNG, SVG and PDF laid out for print
    (a bare number is the PNG scale of a column-wide figure)."""
    style = style if isinstance(style, FigureStyle) else FigureStyle(scale=style)
    if fmt == "html":
        if item.html is not None:
            return item.html().encode("utf-8")
        assert item.build is not None
        return export.figure_html(export.with_caption(item.build(), caption), item.title)
    if item.build is None:
        raise ValueError(f"'{item.title}' exists as interactive HTML only.")
    return to_static(print_figure(item, style, caption), fmt, style.scale)  # type: ignore[arg-type]


def data_bytes(item: DataExport, fmt: str, payload: Mapping[str, Any] | None = None) -> bytes:
    payload = item.build() if payload is None else payload
    return export.to_json(payload, indent=None) if fmt == "json" else item.csv(payload)


def files(views: Sequence[ViewExports], formats: Sequence[str], style: FigureStyle | None = None) -> dict[str, bytes]:
    """Every figure and data set of ``views`` in the requested formats, by relative file name.

    Each figure is built and captioned once for all its formats, and every static image of every view
    goes to the renderer in one call, so its tabs work in parallel.
    """
    style = style or FigureStyle()
    out: dict[str, bytes] = {}
    static: list[tuple[str, dict[str, Any], StaticFormat]] = []
    for view in views:
        caption = view.provenance.caption()
        for item in view.figures:
            static.extend(_figure_files(item, [f for f in item.formats if f in formats], caption, style, out))
        for d in view.data:
            wanted = [f for f in DATA_FORMATS if f in formats]
            payload = d.build() if wanted else None  # once for JSON and CSV
            for fmt in wanted:
                out[f"data/{d.name}.{fmt}"] = data_bytes(d, fmt, payload)
    images = render_many([(spec, fmt, style.scale) for _, spec, fmt in static])
    out.update((name, image) for (name, _, _), image in zip(static, images, strict=True))
    return out


def _figure_files(
    item: FigureExport, wanted: Sequence[str], caption: str, style: FigureStyle, out: dict[str, bytes]
) -> list[tuple[str, dict[str, Any], StaticFormat]]:
    """Writes ``item``'s HTML into ``out`` (and a placeholder per image, for the file order); returns
    the static images still to render, all from one build of the figure."""
    if item.build is None or not wanted:  # bertviz's views: interactive HTML only
        if item.html is not None and "html" in wanted:
            out[f"figures/{item.name}.html"] = item.html().encode("utf-8")
        return []
    screen = item.build()
    fig = export.with_caption(screen, caption)
    spec = print_figure(item, style, caption, screen).to_dict() if set(wanted) & set(STATIC_FORMATS) else {}
    static: list[tuple[str, dict[str, Any], StaticFormat]] = []
    for fmt in wanted:
        name = f"figures/{item.name}.{fmt}"
        if fmt == "html":
            out[name] = item.html().encode("utf-8") if item.html is not None else export.figure_html(fig, item.title)
        else:
            out[name] = b""
            static.append((name, spec, fmt))  # type: ignore[arg-type]
    return static


def bundle(views: Sequence[ViewExports], style: FigureStyle | None = None) -> bytes:
    """A zip of every figure (SVG, PDF, PNG, HTML), every data set (JSON, CSV) and manifest.json (with the
    figure style the images were laid out in)."""
    style = style or FigureStyle()
    manifest = {**views[0].provenance.manifest(), "figure_style": style.manifest()}
    return export.zip_bundle(files(views, (*FIGURE_FORMATS, *DATA_FORMATS), style), manifest)


@dataclass(frozen=True)
class AttentionChoice:
    """The Attention page's controls, as exported."""

    layer: int = 0
    head: int = 0
    residual: float = 0.5
    fusion: HeadFusion = HeadFusion.MEAN
    hide_special: bool = False
    merge_words: bool = False
    bertviz_layers: tuple[int, ...] | None = None  # as on screen; None = as many as the budget allows


def attention_exports(
    bundle: ModelBundle, result: AttentionResult, view: AttentionView, choice: AttentionChoice
) -> ViewExports:
    info, enc = bundle.info, result.encoding
    c = choice
    mode = ("words" if c.merge_words else "tokens") + (", [CLS]/[SEP] hidden" if c.hide_special else "")
    prov = export.provenance(
        bundle, enc.text, enc.text_b, "attention", method=f"attention weights ({mode})",
        extra={"layer": c.layer, "head": c.head, "merge_words": c.merge_words, "hide_special": c.hide_special,
               "rollout_residual": c.residual, "rollout_fusion": c.fusion.value},
    )  # fmt: skip

    @cache  # the rollout figure and the rollout data share one computation
    def rollout_data() -> dict[str, Any]:
        labels, values = rollout_relevance(
            rollout(result.weights, c.residual, c.fusion), enc, hide_special=c.hide_special, merge_words=c.merge_words
        )
        return {"kind": "rollout", "labels": list(labels), "rollout": values.astype(np.float64).tolist(),
                "residual": c.residual, "fusion": c.fusion.value, "provenance": prov.manifest()}  # fmt: skip

    def rollout_figure() -> go.Figure:
        data = rollout_data()
        return figures.relevance_bars(data["labels"], np.array(data["rollout"]), "How much [CLS] draws from each input")

    w, labels, lh = view.weights, view.labels, f"L{c.layer}-H{c.head}"
    figs = [
        FigureExport(f"attention-{lh}", f"Layer {c.layer}, head {c.head}",
                     lambda: figures.attention_heatmap(w[c.layer, c.head], labels, f"Layer {c.layer}, head {c.head}"),
                     kind="heatmap"),
        FigureExport(f"attention-L{c.layer}-mean", f"Layer {c.layer}, mean of heads",
                     lambda: figures.attention_heatmap(head_average(w[c.layer : c.layer + 1])[0], labels,
                                                       f"Layer {c.layer}, mean of its {info.num_heads} heads"),
                     kind="heatmap"),
        FigureExport("attention-grid", "Layer × head grid", lambda: figures.head_grid(w), kind="grid"),
        FigureExport("attention-rollout", "Attention rollout", rollout_figure, kind="hbars"),
    ]  # fmt: skip
    layers = c.bertviz_layers
    if layers is None:
        layers = layers_within_budget(len(labels), info.num_layers, info.num_heads, selected=c.layer)
    if layers:
        for kind in ("head", "model"):
            figs.append(FigureExport(
                f"bertviz-{kind}-view", f"bertviz {kind} view (interactive HTML)",
                html=lambda kind=kind: bertviz_html(kind, w, labels, sentence_b_start=view.sentence_b_start,  # type: ignore[misc]
                                                    layers=layers, header=prov.caption()),
            ))  # fmt: skip
    # every weight of every head is n² x layers x heads numbers: above ALL_LAYERS_MAX_TOKENS, the chosen layer's
    if len(labels) <= ALL_LAYERS_MAX_TOKENS:
        layers_out: Sequence[int] = range(info.num_layers)
        name, title = "attention-all", "All layers and heads"
    else:
        layers_out, name, title = [c.layer], f"attention-L{c.layer}-all-heads", f"All heads of layer {c.layer}"
    data = (
        DataExport(f"attention-{lh}", f"Layer {c.layer} head {c.head}",
                   lambda: export.attention_data(w, labels, [c.layer], [c.head], prov), export.attention_csv),
        DataExport(name, title, lambda: export.attention_data(w, labels, layers_out, range(info.num_heads), prov),
                   export.attention_csv),
        DataExport("rollout", "Rollout", rollout_data, export.attribution_csv),
    )  # fmt: skip
    return ViewExports(tuple(figs), data, prov, repr(choice))


METHODS = {"Integrated gradients": "scores", "Gradient × input": "grad_x_input", "Saliency (|gradient|)": "saliency"}


def attribution_exports(
    bundle: ModelBundle, result: AttributionResult, method: str = "Integrated gradients", words: bool = False
) -> ViewExports:
    """The Attribution view: ``method`` colours the figures; the data holds all three methods."""
    info = bundle.info
    prov = export.attribution_provenance(bundle, result, method)
    what = f"{method} for '{info.target or info.labels[result.target]}'"
    # with the per-token certificate: how much each score moved between the last two levels
    series = {key: np.asarray(getattr(result, key)) for key in (*METHODS.values(), "token_changes")}
    if words:
        labels: Sequence[str] = result.encoding.words
        series = {k: word_scores(v, result.encoding)[1] for k, v in series.items()}
    else:
        labels = result.encoding.tokens
    shown = series[METHODS[method]]

    def data() -> dict[str, Any]:
        return export.attribution_data(labels, series["scores"], prov, grad_x_input=series["grad_x_input"],
                                       saliency=series["saliency"], token_changes=series["token_changes"])  # fmt: skip

    figs = (
        FigureExport("attribution-tokens", "Coloured tokens",
                     lambda: figures.token_figure(labels, shown, what, what, signed="Sal" not in method),
                     kind="tokens"),
        FigureExport("attribution-bars", "Sorted bars",
                     lambda: figures.attribution_bars(labels, shown, f"{method}, sorted", what), kind="hbars"),
    )  # fmt: skip
    data_exports = (DataExport("attribution", "Attributions", data, export.attribution_csv),)
    return ViewExports(figs, data_exports, prov, repr((method, words)))
