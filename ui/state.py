"""Session and process state: cached models and results, the last good result, timing.

Models and results live in ``st.cache_resource`` (shared by every session, never mutated); a session
keeps only its last good result, so a failure shows a message and the previous views stay on screen.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st

import explain
from explain.views import figures
from explain.views.bertviz import ViewKind, bertviz_html

K = "glimpse."  # session-state prefix of the shared sidebar
# CommonMark lets a backslash escape any ASCII punctuation, and every Markdown construct but two starts with one.
_MARKDOWN = re.compile(r"([!-/:-@\[-`{-~])")
# The two: GFM autolink literals (https://…, www.…, a@b.c) and emoji shortcodes (:smile:) are found in the
# parsed text, after escapes are resolved, so no escape stops them. An invisible WORD JOINER breaks each
# pattern (after "xyz:", between "www" and ".", before "@") without changing what the reader sees.
_FOUND_IN_TEXT = re.compile(r"(?<=:)(?=\S)|(?i:(?<=www)(?=\.))|(?=@)")
_WORD_JOINER = "\u2060"


def md(text: str) -> str:
    """Text shown literally where Streamlit renders Markdown (labels and paths come from models and users:
    '[x](https://…)', '![](…)' or a bare 'https://…' must not become a link or an image)."""
    return _MARKDOWN.sub(r"\\\1", _FOUND_IN_TEXT.sub(_WORD_JOINER, text))


SIDEBAR_INPUTS = (K + "text", K + "text_b", K + "pair", K + "model_ref")  # not buttons: those cannot be set


@dataclass(frozen=True)
class Current:
    """What the pages draw: the model and the result for the text in the sidebar."""

    bundle: explain.ModelBundle
    result: explain.AttentionResult
    key: str  # identifies (model, text) for caches of derived figures


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


@st.cache_resource(show_spinner=False, max_entries=64)
def rollout(key: str, _result: explain.AttentionResult, residual: float = 0.5, fusion: str = "mean") -> np.ndarray:
    """Attention rollout of a cached result: (n, n), computed once per (text, residual, fusion)."""
    return explain.rollout(_result.weights, residual, explain.HeadFusion(fusion))


@st.cache_resource(show_spinner=False, max_entries=32)
def head_grid(key: str, _view: explain.AttentionView) -> go.Figure:
    return figures.head_grid(_view.weights)


@st.cache_resource(show_spinner=False, max_entries=32)
def bertviz(key: str, _view: explain.AttentionView, kind: ViewKind, layers: tuple[int, ...], header: str) -> str:
    return bertviz_html(
        kind, _view.weights, _view.labels, sentence_b_start=_view.sentence_b_start, layers=layers, header=header
    )


def start_timer() -> None:
    st.session_state[K + "t0"] = time.perf_counter()


def keep_page_state(prefixes: tuple[str, ...] = ("attention.", "attribution.")) -> None:
    """Keep page widgets' values across page switches.

    Streamlit forgets the state of widgets that a run does not draw, so leaving a page would reset its
    pickers. Each run first copies the page widgets' values aside, then restores the missing ones.
    """
    saved: dict[str, object] = dict(st.session_state.get(K + "saved_widgets", {}))
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(prefixes):
            saved[key] = st.session_state[key]
    st.session_state[K + "saved_widgets"] = saved
    for key, value in saved.items():
        if key not in st.session_state:
            st.session_state[key] = value
    # The sidebar's widgets are drawn on every page, but a widget's identity includes the page, so after a
    # page switch a new widget would start empty: re-assigning the value makes it the new widget's value.
    for key in SIDEBAR_INPUTS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def server_seconds() -> float:
    return time.perf_counter() - st.session_state.get(K + "t0", time.perf_counter())


def policy() -> explain.SourcePolicy:
    return explain.policy_from_env()


def active_source() -> explain.ModelSource:
    if K + "source" not in st.session_state:
        st.session_state[K + "source"] = explain.default_source(policy())
    source: explain.ModelSource = st.session_state[K + "source"]
    return source


def bundle_or_none() -> explain.ModelBundle | None:
    source = active_source()
    try:
        return load_bundle(source.kind.value, source.ref)
    except explain.GlimpseError as exc:
        st.error(md(str(exc)))
        return None


def current() -> Current | None:
    """The result for the sidebar's text, or the last good one (with the error shown), or None."""
    bundle = bundle_or_none()
    if bundle is None:
        return None
    text = st.session_state.get(K + "text", "")
    text_b = st.session_state.get(K + "text_b", "") if st.session_state.get(K + "pair") else None
    key = repr((bundle.source.kind.value, bundle.source.ref, text, text_b))  # unambiguous, unlike joined strings
    try:
        with st.spinner("Running the model…"):
            result = _attention(key, bundle, text, text_b)
    except explain.GlimpseError as exc:
        st.error(md(str(exc)))
        last = st.session_state.get(K + "last_good")
        if last is None or last.bundle is not bundle:
            return None
        st.caption("Showing the last text that worked.")
        previous: Current = last
        return previous
    good = Current(bundle, result, key)
    st.session_state[K + "last_good"] = good
    return good


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

    def waiting(ahead: int, expected_s: float) -> None:
        status.update(label=f"In line: {ahead} analysis(es) ahead of you, about {expected_s:.0f} s…")

    def progress(message: str) -> None:
        status.update(label=message + "…")

    try:
        result = explain.attribute(
            cur.bundle, cur.result.encoding, settings, on_progress=progress, on_wait=waiting, logits=cur.result.logits
        )
    except explain.GlimpseError:
        status.update(label="Integrated gradients failed", state="error")
        raise
    cache.put(key, result)  # before any st.* call: a pending rerun raises there and must not lose the result
    status.update(label=f"Integrated gradients: done in {result.seconds:.2f} s", state="complete")
    return result


def attribution(cur: Current, settings: explain.IGSettings) -> explain.AttributionResult | None:
    """IG for the current text, cached per (model, text, settings); None with the error shown on failure."""
    try:
        result = _attribution(cur, settings)
    except explain.GlimpseError as exc:
        st.error(md(str(exc)))
        last = st.session_state.get(K + "last_attribution")
        if last is not None and last[0] == cur.bundle.source:
            previous: explain.AttributionResult = last[2]
            same_text = last[1] == cur.key
            st.caption(
                "Showing the last attribution that worked"
                + ("." if same_text else f", for the previous text: “{md(previous.encoding.text[:80])}”.")
            )
            return previous
        return None
    st.session_state[K + "last_attribution"] = (cur.bundle.source, cur.key, result)
    return result
