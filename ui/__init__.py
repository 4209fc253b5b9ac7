"""The Streamlit glue shared by the pages: cached loaders, the sidebar, and result bookkeeping.

Dependencies point one way: pages -> ui -> explain. Models and results live in
``st.cache_resource`` (shared by every session, never mutated); a session keeps only the key of its
last good result, so a failure shows a message and the previous views stay on screen.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import plotly.graph_objects as go
import streamlit as st

import explain
from explain import figures
from explain.attention_html import ViewKind, bertviz_html, layers_within_budget, payload_bytes
from explain.highlight import highlight_html

EXAMPLES = (
    "The movie was a complete waste of time, but the soundtrack was wonderful.",
    "The animal didn't cross the street because it was too tired.",
    "She said the keys to the old cabinet were on the kitchen table.",
)
EXAMPLE_PAIR = ("The cat sat on the mat all afternoon.", "Where did the cat spend the afternoon?")
_K = "glimpse."  # session-state prefix of the shared sidebar


@dataclass(frozen=True)
class Current:
    """What the pages draw: the model and the result for the text in the sidebar."""

    bundle: explain.ModelBundle
    result: explain.AttentionResult
    key: str  # identifies (model, text) for caches of derived figures
    stale: bool  # True when the text failed and this is the last good result


@st.cache_resource(show_spinner="Loading the model (once per server)…", max_entries=4)
def load_bundle(kind: str, ref: str) -> explain.ModelBundle:
    return explain.load_bundle(explain.ModelSource(explain.SourceKind(kind), ref))


@st.cache_resource(show_spinner=False, max_entries=32)
def _attention(key: str, _bundle: explain.ModelBundle, text: str, text_b: str | None) -> explain.AttentionResult:
    encoding = explain.prepare_input(_bundle, text, text_b)
    return explain.run_attention(_bundle, encoding)


@st.cache_resource(show_spinner=False, max_entries=64)
def attention_view(key: str, _result: explain.AttentionResult, hide: bool, merge: bool) -> explain.AttentionView:
    return explain.attention_view(_result, hide_special=hide, merge_words=merge)


@st.cache_resource(show_spinner=False, max_entries=32)
def head_grid(key: str, _view: explain.AttentionView) -> go.Figure:
    return figures.head_grid(_view.weights)


@st.cache_resource(show_spinner=False, max_entries=32)
def bertviz(key: str, _view: explain.AttentionView, kind: ViewKind, layers: tuple[int, ...], header: str) -> str:
    return bertviz_html(
        kind, _view.weights, _view.labels, sentence_b_start=_view.sentence_b_start, layers=layers, header=header
    )


def start_timer() -> None:
    st.session_state[_K + "t0"] = time.perf_counter()


def keep_page_state(prefixes: tuple[str, ...] = ("attention.", "attribution.")) -> None:
    """Keep page widgets' values across page switches.

    Streamlit forgets the state of widgets that a run does not draw, so leaving a page would reset its
    pickers. Each run first copies the page widgets' values aside, then restores the missing ones.
    """
    saved: dict[str, object] = dict(st.session_state.get(_K + "saved_widgets", {}))
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(prefixes):
            saved[key] = st.session_state[key]
    st.session_state[_K + "saved_widgets"] = saved
    for key, value in saved.items():
        if key not in st.session_state:
            st.session_state[key] = value


def server_seconds() -> float:
    return time.perf_counter() - st.session_state.get(_K + "t0", time.perf_counter())


def policy() -> explain.SourcePolicy:
    return explain.policy_from_env()


def active_source() -> explain.ModelSource:
    if _K + "source" not in st.session_state:
        st.session_state[_K + "source"] = explain.default_source(policy())
    source: explain.ModelSource = st.session_state[_K + "source"]
    return source


def sidebar() -> None:
    """The model picker, the text input(s) and the examples, shared by every page."""
    with st.sidebar:
        st.header("Glimpse")
        _model_picker()
        _text_inputs()
        bundle = _bundle_or_none()
        if bundle is not None:
            with st.expander("Model info", expanded=False):
                model_info(bundle.info)


def _model_picker() -> None:
    allowed = policy().allowed
    with st.expander("Model", expanded=False):
        st.caption(f"Loaded: `{active_source().label}`")
        ref = st.text_input(
            "Load another model",
            key=_K + "model_ref",
            placeholder="/path/to/folder or org/model-id",
            help="A Hugging Face BERT-family checkpoint: an absolute folder path (from save_pretrained) "
            "or a hub id (needs network). Empty = the embedded default model. "
            f"Allowed here: {', '.join(sorted(k.value for k in allowed))}.",
        )
        if st.button("Load model", key=_K + "load"):
            try:
                source = explain.resolve_source(ref, policy())
                load_bundle(source.kind.value, source.ref)
            except explain.GlimpseError as exc:
                st.error(str(exc))
            else:
                st.session_state[_K + "source"] = source
                st.rerun()


def _set_example(text: str, text_b: str | None) -> None:
    st.session_state[_K + "text"] = text
    st.session_state[_K + "pair"] = text_b is not None
    if text_b is not None:
        st.session_state[_K + "text_b"] = text_b


def _text_inputs() -> None:
    if _K + "text" not in st.session_state:
        # ?text=... pre-fills the box, so a link can share a sentence
        st.session_state[_K + "text"] = st.query_params.get("text", EXAMPLES[0])
    st.text_area(
        "Text (sentence A)",
        key=_K + "text",
        height=110,
        help="Type any sentence. Press Ctrl+Enter (or click outside) to analyse it.",
    )
    pair = st.toggle("Sentence pair", key=_K + "pair", help="Add a sentence B; the model sees [CLS] A [SEP] B [SEP].")
    if pair:
        st.text_area("Sentence B", key=_K + "text_b", height=80)
    st.caption("Examples")
    for i, example in enumerate(EXAMPLES):
        st.button(example, key=f"{_K}example{i}", on_click=_set_example, args=(example, None), width="stretch")
    st.button(
        f"Pair: {EXAMPLE_PAIR[0]} / {EXAMPLE_PAIR[1]}",
        key=_K + "example_pair",
        on_click=_set_example,
        args=EXAMPLE_PAIR,
        width="stretch",
    )


def _bundle_or_none() -> explain.ModelBundle | None:
    source = active_source()
    try:
        return load_bundle(source.kind.value, source.ref)
    except explain.GlimpseError as exc:
        st.error(str(exc))
        return None


def current() -> Current | None:
    """The result for the sidebar's text, or the last good one (with the error shown), or None."""
    bundle = _bundle_or_none()
    if bundle is None:
        return None
    text = st.session_state.get(_K + "text", "")
    text_b = st.session_state.get(_K + "text_b", "") if st.session_state.get(_K + "pair") else None
    key = f"{bundle.source.kind.value}:{bundle.source.ref}\x00{text}\x00{text_b}"
    try:
        with st.spinner("Running the model…"):
            result = _attention(key, bundle, text, text_b)
    except explain.GlimpseError as exc:
        st.error(str(exc))
        last = st.session_state.get(_K + "last_good")
        if last is None or last.bundle is not bundle:
            return None
        st.caption("Showing the last text that worked.")
        return Current(last.bundle, last.result, last.key, stale=True)
    good = Current(bundle, result, key, stale=False)
    st.session_state[_K + "last_good"] = good
    return good


def notices(encoding: explain.Encoding) -> None:
    for notice in encoding.notices:
        st.info(notice)


def model_info(info: explain.ModelInfo) -> None:
    st.dataframe(
        {
            "property": [
                "source",
                "family",
                "architecture",
                "layers",
                "heads per layer",
                "hidden size",
                "maximum length (tokens)",
                "labels",
                "parameters",
            ],
            "value": [
                info.source,
                info.family,
                info.architecture,
                str(info.num_layers),
                str(info.num_heads),
                str(info.hidden_size),
                str(info.max_length),
                ", ".join(info.labels) if info.labels else "none (no classification head)",
                f"{info.num_parameters / 1e6:.1f} M",
            ],
        },
        hide_index=True,
        width="stretch",
    )
    if info.head_is_random:
        st.warning("This checkpoint's classification head is freshly initialised: its predictions mean nothing.")


def bertviz_section(cur: Current, view: explain.AttentionView, flags: str) -> None:
    """bertviz head/model view, restricted to the layers that fit the payload budget."""
    info = cur.bundle.info
    n = len(view.labels)
    kind: ViewKind = (
        "model"
        if st.radio(
            "bertviz view",
            ["Head view", "Model view"],
            horizontal=True,
            key="attention.bertviz_kind",
            help="Head view: lines from each token (left) to the tokens it attends to (right), one colour per "
            "head; hover a token to isolate it. Model view: one thumbnail per layer (row) and head (column).",
        )
        == "Model view"
        else "head"
    )
    layers = layers_within_budget(n, info.num_layers, info.num_heads, selected=0)
    full_mb = payload_bytes(n, info.num_layers, info.num_heads) / 1e6
    if not layers:
        st.warning(
            f"At {n} positions one layer of bertviz would ship {full_mb / info.num_layers:.1f} MB to the "
            "browser, so bertviz is off for this text; the Plotly views below show every layer and head."
        )
        return
    if len(layers) < info.num_layers:
        first = st.slider(
            "bertviz layers from",
            0,
            info.num_layers - len(layers),
            0,
            key="attention.bv_first",
            help="Long inputs show only some layers in bertviz, to keep the page light.",
        )
        layers = tuple(range(first, first + len(layers)))
        st.info(
            f"At {n} positions all layers would ship {full_mb:.0f} MB; bertviz shows layers "
            f"{layers[0]}–{layers[-1]}. The Plotly views below cover every layer."
        )
    header = f"{info.source} · {'words' if 'm1' in flags else 'tokens'} · labels: {', '.join(info.labels) or 'none'}"
    html = bertviz(f"{cur.key}|{flags}", view, kind, layers, header)
    st.iframe(html, height=_bertviz_height(kind, n, len(layers)))


def _bertviz_height(kind: ViewKind, n: int, n_layers: int) -> int:
    if kind == "head":
        return 140 + 23 * n
    return 120 + n_layers * (7 * n + 40)


def footer() -> None:
    st.caption(
        f"Server time for this page: {server_seconds():.2f} s",
        help="From the start of the script run "
        "to the end of the page, model passes included; cached results make reruns fast.",
    )


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
        "Prediction", info.labels[best], help="The class with the highest probability; names from the model's id2label."
    )
    for i, (label, p) in enumerate(zip(info.labels, probs, strict=True)):
        cols[i + 1].metric(
            f"P({label})", f"{p:.1%}", help=f"softmax of the logits; logit {logits[i]:+.3f}", label_visibility="visible"
        )


class _LRU:
    """A small thread-safe LRU of finished results, shared by all sessions (values are read-only)."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[tuple[object, ...], object] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> object | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
            return self._items.get(key)

    def put(self, key: tuple[object, ...], value: object) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)


@st.cache_resource
def _attribution_cache() -> _LRU:
    return _LRU(32)


def _attribution(cur: Current, settings: explain.IGSettings) -> explain.AttributionResult:
    cache = _attribution_cache()
    key = (cur.key, settings)
    hit = cache.get(key)
    if isinstance(hit, explain.AttributionResult):
        return hit
    status = st.status("Integrated gradients…", expanded=False)

    def waiting(ahead: int) -> None:
        status.update(label=f"Waiting for the attribution engine: {ahead} analysis(es) ahead of you…")

    def progress(message: str) -> None:
        status.update(label=message + "…")

    result = explain.attribute(cur.bundle, cur.result.encoding, settings, on_progress=progress, on_wait=waiting)
    status.update(label=f"Integrated gradients: done in {result.seconds:.2f} s", state="complete")
    cache.put(key, result)
    return result


def attribution(cur: Current, settings: explain.IGSettings) -> explain.AttributionResult | None:
    """IG for the current text, cached per (model, text, settings); None with the error shown on failure."""
    try:
        return _attribution(cur, settings)
    except explain.GlimpseError as exc:
        st.error(str(exc))
        last = st.session_state.get(_K + "last_attribution")
        if last is not None and last[0] == cur.bundle.source:
            st.caption("Showing the last attribution that worked.")
            result: explain.AttributionResult = last[1]
            return result
        return None


def attribution_summary(result: explain.AttributionResult, info: explain.ModelInfo) -> None:
    """The numbers that say whether the attribution can be trusted, beside the result."""
    s = result.settings
    what = f"{s.output} of '{info.labels[result.target]}'"
    cols = st.columns(5)
    cols[0].metric("f(input)", f"{result.f_input:+.4f}", help=f"The {what} at the input.")
    cols[1].metric("f(baseline)", f"{result.f_baseline:+.4f}", help=f"The {what} at the baseline.")
    cols[2].metric(
        "Completeness gap δ",
        f"{result.convergence_delta:+.2e}",
        help="δ = Σ attributions − (f(input) − f(baseline)). IG's attributions add up to the output difference "
        "exactly in the limit; δ measures how far this numerical integration is from that.",
    )
    cols[3].metric(
        "Relative |δ|",
        f"{result.relative_delta:.2%}",
        help=f"|δ| / max(|f(input) − f(baseline)|, {s.abs_floor}). Accepted at ≤ {s.tolerance:.1%}.",
    )
    cols[4].metric("Steps", result.n_steps, help=f"{s.method} quadrature points; tried {list(result.steps_tried)}.")
    st.caption(
        f"Integrated gradients of the {what}, baseline: {explain.attribution.BASELINE_HELP[s.baseline]}; "
        f"Captum LayerIntegratedGradients on the word embeddings (positions and segments held at the input's "
        f"values). Computed in {result.seconds:.2f} s."
    )
    if len(result.steps_tried) > 1 and result.converged:
        st.info(
            f"Steps were raised automatically ({' → '.join(map(str, result.steps_tried))}) until the relative "
            f"gap fell under {s.tolerance:.1%}."
        )
    if not result.converged:
        st.warning(
            f"The gap is still {result.relative_delta:.2%} at the cap of {s.max_steps} steps (tolerance "
            f"{s.tolerance:.1%}). Treat small scores with care, or raise the step cap under 'Accuracy'."
        )


def rollout_tokens(cur: Current, words: bool) -> None:
    """Attention's view of the same text (rollout from [CLS]), shown at once while IG computes."""
    joint = explain.rollout(cur.result.weights)
    labels, values = explain.rollout_relevance(joint, cur.result.encoding, hide_special=True, merge_words=words)
    st.markdown("**Attention rollout** (what [CLS] draws from, specials hidden; instant)")
    st.html(highlight_html(labels, values, what="rollout share", signed=False))
    st.caption(
        "Rollout is unsigned (shares summing to 1, so only red): it shows where information flows, not whether it "
        "pushes the prediction up or down. Integrated gradients below answers that."
    )


def model_info_download(bundle: explain.ModelBundle) -> None:
    """The model-info panel as JSON, with the weight hash that identifies these exact weights."""
    from explain import export

    def payload() -> bytes:
        info = bundle.info
        return export.to_json(
            {"source": info.source, "family": info.family, "architecture": info.architecture,
             "layers": info.num_layers, "heads": info.num_heads, "hidden_size": info.hidden_size,
             "max_length": info.max_length, "labels": list(info.labels), "head_is_random": info.head_is_random,
             "parameters": info.num_parameters, "weights_sha256": export.weights_sha256(bundle),
             "versions": export.library_versions()}
        )  # fmt: skip

    st.download_button("Download model info (JSON)", data=payload, file_name="model-info.json",
                       mime="application/json", key="model.export_json", on_click="ignore")  # fmt: skip
