"""Panels the pages share: prediction, bertviz, attribution evidence, rollout tokens, footer."""

from __future__ import annotations

import math

import streamlit as st

import explain
from explain.methods.attribution import BASELINE_HELP
from explain.views.bertviz import ViewKind, layers_within_budget, payload_bytes
from explain.views.highlight import highlight_html
from ui import controls, widgets
from ui.state import Current, bertviz, current, md, rollout, server_seconds


def notices(encoding: explain.Encoding) -> None:
    for notice in encoding.notices:
        st.info(md(notice))


#: Up to this many positions bertviz is drawn at once; longer inputs wait for a click (its head view draws an
#: SVG line per head and token pair: 196,000 at 128 tokens, about 5 s of the browser's time, measured).
BERTVIZ_AT_ONCE = 64


def lazy_bertviz(cur: Current, view: explain.AttentionView, hide: bool, merge: bool) -> tuple[int, ...]:
    """bertviz in an expander: open (and drawn) at once for short inputs, on a click for long ones."""
    n = len(view.labels)
    info = cur.bundle.info
    if not layers_within_budget(n, info.num_layers, info.num_heads, selected=0):
        _bertviz_off(n, info)  # nothing to open: say so at once instead of behind a click
        return ()
    long = n > BERTVIZ_AT_ONCE
    label = f"Head and model views ({n} positions: a few seconds to draw)" if long else "Head and model views"
    box = st.expander(label, expanded=not long, key=f"attention.bertviz_open.{'long' if long else 'short'}",
                      on_change="rerun")  # fmt: skip
    if not box.open:
        return ()
    with box:
        return bertviz_section(cur, view, hide, merge)


def bertviz_section(cur: Current, view: explain.AttentionView, hide: bool, merge: bool) -> tuple[int, ...]:
    """bertviz head/model view, restricted to the layers that fit the payload budget; returns those layers."""
    info = cur.bundle.info
    n = len(view.labels)
    choice = widgets.kept(
        st.radio, "attention.bertviz_kind", "Head view", label="bertviz view", options=["Head view", "Model view"],
        horizontal=True,
        help="Head view: lines from each token (left) to the tokens it attends to (right), one colour per "
        "head; hover a token to isolate it. Model view: one thumbnail per layer (row) and head (column).",
    )  # fmt: skip
    kind: ViewKind = "model" if choice == "Model view" else "head"
    layers = layers_within_budget(n, info.num_layers, info.num_heads, selected=0)
    full_mb = payload_bytes(n, info.num_layers, info.num_heads) / 1e6
    if not layers:
        _bertviz_off(n, info)
        return ()
    if len(layers) < info.num_layers:
        top = info.num_layers - len(layers)
        first = widgets.kept(
            st.slider, "attention.bv_first", 0, valid=lambda v: 0 <= v <= top, label="bertviz layers from",
            min_value=0, max_value=top, help="Long inputs show only some layers in bertviz, to keep the page light.",
        )  # fmt: skip
        layers = tuple(range(first, first + len(layers)))
        st.info(
            f"At {n} positions all layers would ship {full_mb:.0f} MB; bertviz shows layers "
            f"{layers[0]}–{layers[-1]}. The Plotly views below cover every layer."
        )
    header = f"{info.source} · {'words' if merge else 'tokens'} · labels: {', '.join(info.labels) or 'none'}"
    html = bertviz(cur, view, (hide, merge), kind, layers, header)
    st.iframe(html, height=_bertviz_height(kind, n, len(layers), info.num_heads))
    return layers


def _bertviz_off(n: int, info: explain.ModelInfo) -> None:
    one_layer_mb = payload_bytes(n, info.num_layers, info.num_heads) / 1e6 / info.num_layers
    st.warning(
        f"At {n} positions one layer of bertviz would ship {one_layer_mb:.1f} MB to the browser, so bertviz is "
        "off for this text; the Plotly views below show every layer and head."
    )


def _bertviz_height(kind: ViewKind, n: int, n_layers: int, n_heads: int) -> int:
    """The frame's height: bertviz's own layout (head_view.js, model_view.js) below a one-line header and
    the pickers, with room for a horizontal scrollbar (the model view is wider than a column)."""
    chrome = 90  # the header and pickers (~50 px), the body's margins, a horizontal scrollbar
    if kind == "head":
        return chrome + math.ceil(n * 22.5 + 30)  # BOXHEIGHT per position + TEXT_TOP
    thumbnail = n * 7 * 12 / n_heads + 2 * 5  # thumbnailBoxHeight per position + padding, per layer
    axis, detail = 15 + 5 + 13 + 5, n * 18 + 2 * 15 + 25  # headings; the panel a clicked thumbnail opens
    return chrome + math.ceil(max(n_layers * thumbnail + axis, detail))


def footer() -> None:
    st.caption(
        f"Server time for this page: {server_seconds():.2f} s",
        help="From the start of the script run "
        "to the end of the page, model passes included; cached results make reruns fast.",
    )


def explained_input() -> tuple[Current, explain.IGSettings]:
    """The top of every page that explains a class (Attribution, Diagnose): the current input, its notices
    and prediction, and the IG controls with the predicted class by default; stops the page when there is
    no input or no classification head."""
    cur = current()
    if cur is None:
        st.stop()
    notices(cur.result.encoding)
    prediction_panel(cur)
    if not cur.bundle.info.has_classifier:
        st.stop()
    return cur, class_settings(cur)


def class_settings(cur: Current) -> explain.IGSettings:
    """The IG controls (class, output, baseline, accuracy) with the predicted class by default, shared by
    every page that explains a class; the defaults, and no controls, for a model without a head."""
    if not cur.bundle.info.has_classifier or cur.result.logits is None:
        return explain.IGSettings()
    probs = explain.probabilities(cur.result.logits)
    return controls.ig_settings(cur.bundle.info, int(probs.argmax()))


def prediction_panel(cur: Current) -> None:
    """Label and probabilities from the attention pass's logits (no extra model pass)."""
    info = cur.bundle.info
    logits = cur.result.logits
    if logits is None or not info.has_classifier:
        st.info(
            f"`{info.source}` has no classification head, so it makes no prediction (and there is nothing to "
            "attribute). Its attention is on the Attention page. Load a fine-tuned *ForSequenceClassification "
            "checkpoint to see predictions."
        )
        return
    probs = explain.probabilities(logits)
    best = int(probs.argmax())
    if info.head_is_random:
        st.warning(
            "This checkpoint's classification head was freshly initialised (its weights are not in the "
            "checkpoint): the predictions below mean nothing."
        )
    cols = st.columns(len(info.labels) + 1)
    cols[0].metric(
        "Prediction",
        md(info.labels[best]),
        help="The class with the highest probability; names from the model's id2label.",
    )
    for i, (label, p) in enumerate(zip(info.labels, probs, strict=True)):
        cols[i + 1].metric(
            f"P({md(label)})",
            f"{p:.1%}",
            help=f"softmax of the logits; logit {logits[i]:+.3f}",
            label_visibility="visible",
        )


def attribution_summary(result: explain.AttributionResult, info: explain.ModelInfo) -> None:
    """The numbers that say whether the attribution can be trusted, beside the result."""
    s = result.settings
    what = md(f"{s.output} of '{info.target or info.labels[result.target]}'")
    cols = st.columns(6)
    cols[0].metric("f(input)", f"{result.f_input:+.4f}", help=f"The {what} at the input.")
    cols[1].metric("f(baseline)", f"{result.f_baseline:+.4f}", help=f"The {what} at the baseline.")
    cols[2].metric(
        "Completeness gap δ",
        f"{result.convergence_delta:+.2e}",
        help="δ = Σ attributions − (f(input) − f(baseline)). IG's attributions add up to the output difference "
        "exactly in the limit; δ measures how far this numerical integration is from that, for the sum.",
    )
    cols[3].metric(
        "Relative |δ|",
        f"{result.relative_delta:.2%}",
        help=f"|δ| / max(|f(input) − f(baseline)|, {s.abs_floor}). Accepted at ≤ {s.tolerance:.1%}.",
    )
    cols[4].metric(
        "Per-token error",
        f"{result.token_error:.2%}",
        help="An estimate of the largest error of any token's score at the accepted level "
        f"({result.n_steps} points), relative to the largest |score|: half the largest of the last Chebyshev "
        "coefficients the level computes (what the rule cannot see is smaller still once they have decayed), "
        "capped at twice the change from the coarser level. δ only checks the sum; this checks every token. "
        f"Accepted at ≤ {s.tolerance:.1%}. On 200 held-out SST-2 sentences the true error never exceeded half of it.",
    )
    cols[5].metric(
        "Steps",
        result.n_steps,
        help=f"Gradient evaluations on the path (levels tried: {', '.join(map(str, result.steps_tried))}; each "
        f"keeps the previous one's points), after {result.forward_points} forward-only passes that place them "
        "where the output changes.",
    )
    st.caption(
        f"Integrated gradients of the {what}, baseline: {BASELINE_HELP[s.baseline]}; on the word embeddings "
        f"(positions and segments held at the input's values), nested Clenshaw–Curtis points on a warped path, "
        f"checked against Captum in the test suite. Computed in {result.seconds:.2f} s."
    )
    if len(result.steps_tried) > 2 and result.converged:
        st.info(
            f"Steps were raised automatically ({' → '.join(map(str, result.steps_tried[1:]))}) until both checks "
            f"fell under {s.tolerance:.1%}."
        )
    if not result.converged:
        st.warning(
            f"At the cap of {s.max_steps} steps the relative gap is {result.relative_delta:.2%} and the per-token "
            f"change {result.token_error:.2%} (tolerance {s.tolerance:.1%}). Treat small scores with care, or "
            "raise the step cap under 'Accuracy'."
        )


def rollout_tokens(cur: Current, words: bool) -> None:
    """Attention's view of the same text (rollout from [CLS]), shown at once while IG computes."""
    joint = rollout(cur)
    labels, values = explain.rollout_relevance(joint, cur.result.encoding, hide_special=True, merge_words=words)
    st.markdown("**Attention rollout** (what [CLS] draws from, specials hidden; instant)")
    st.html(highlight_html(labels, values, what="rollout share", signed=False))
    st.caption(
        "Rollout is unsigned (shares summing to 1, so only red): it shows where information flows, not whether it "
        "pushes the prediction up or down. Integrated gradients below answers that."
    )


def model_info_download(bundle: explain.ModelBundle) -> None:
    """The model-info panel as JSON, with the weight hash that identifies these exact weights."""
    from explain.export import files as export

    def payload() -> bytes:
        info = bundle.info
        return export.to_json(
            {"source": info.source, "family": info.family, "architecture": info.architecture,
             "layers": info.num_layers, "heads": info.num_heads, "hidden_size": info.hidden_size,
             "max_length": info.max_length, "labels": list(info.labels), "head_is_random": info.head_is_random,
             "parameters": info.num_parameters, "device": info.device, "weights_sha256": export.weights_sha256(bundle),
             "versions": export.library_versions()}
        )  # fmt: skip

    st.download_button("Download model info (JSON)", data=payload, file_name="model-info.json",
                       mime="application/json", key="model.export_json", on_click="ignore")  # fmt: skip
