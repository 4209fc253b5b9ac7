"""Session state: the current result, the last good one, timing; derived views through the shared caches.

Models and results live in ``ui.cache`` (shared by every session, read-only, bounded by bytes); a
session keeps only its last good result, so a failure shows a message and the previous views stay on
screen. Cache keys are frozen objects (the model source, the text, the settings), never strings that
each caller composes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st

import explain
from explain.models.heads import task_kind
from explain.views import figures
from explain.views.bertviz import ViewKind, bertviz_html
from ui import cache, widgets

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


@dataclass(frozen=True)
class InputKey:
    """What an attention result depends on: the model's weights, the task it runs as, the text(s), and on a
    target view (:mod:`explain.tasks.view`) the target, since every view of a model shares its weights."""

    source: explain.ModelSource
    text: str
    text_b: str | None
    weights: str  # the bundle's weights_sha256: a model re-saved into the same folder is another model
    task: str = ""  # the task the model was loaded as (an override shares the weights)
    target: Hashable = None  # the view's Target (frozen), or None for the model itself

    @classmethod
    def of(cls, bundle: explain.ModelBundle, text: str, text_b: str | None) -> InputKey:
        # a view's model is a TargetHead holding its Target; the model itself has none
        target = getattr(bundle.model, "target", None) if bundle.info.target is not None else None
        return cls(bundle.source, text, text_b, bundle.weights_sha256, bundle.info.task, target)


@dataclass(frozen=True)
class Current:
    """What the pages draw: the model and the result for the text in the sidebar."""

    bundle: explain.ModelBundle
    result: explain.AttentionResult
    key: InputKey


def load_bundle(kind: str, ref: str, task: str | None = None) -> explain.ModelBundle:
    """The model for a source, run as ``task`` (None: the task its config names), from the process-wide
    registry (loaded once per server)."""
    source = explain.ModelSource(explain.SourceKind(kind), ref)
    wanted = task_kind(task)
    if cache.models().has(source, wanted):
        return cache.models().get(source, wanted)
    with st.spinner("Loading the model (once per server)…"):
        return cache.models().get(source, wanted)


def _attention(key: InputKey, bundle: explain.ModelBundle) -> explain.AttentionResult:
    def compute() -> explain.AttentionResult:
        return explain.run_attention(bundle, explain.prepare_input(bundle, key.text, key.text_b))

    return cache.cached(("attention", key), compute)


def attention_view(cur: Current, hide: bool, merge: bool) -> explain.AttentionView:
    return cache.cached(("view", cur.key, hide, merge),
                        lambda: explain.attention_view(cur.result, hide_special=hide, merge_words=merge))  # fmt: skip


def norm_view(cur: Current, hide: bool, merge: bool) -> explain.AttentionView:
    """Norm-based attention ‖α f(x)‖ (Kobayashi et al. 2020), hidden and merged like the attention view."""

    def build() -> explain.AttentionView:
        from dataclasses import replace

        from explain.methods.norms import norm_attention, value_norms

        normed = norm_attention(cur.result.weights, value_norms(cur.bundle, cur.result.encoding))
        return explain.attention_view(replace(cur.result, weights=normed), hide_special=hide, merge_words=merge)

    return cache.cached(("norm-view", cur.key, hide, merge), build)


def rollout(cur: Current, residual: float = 0.5, fusion: str = "mean") -> np.ndarray:
    """Attention rollout of the current result: (n, n), computed once per (text, residual, fusion)."""
    return cache.cached(("rollout", cur.key, residual, fusion),
                        lambda: explain.rollout(cur.result.weights, residual, explain.HeadFusion(fusion)))  # fmt: skip


def head_grid(cur: Current, view: explain.AttentionView, hide: bool, merge: bool) -> go.Figure:
    return cache.cached(("grid", cur.key, hide, merge), lambda: figures.head_grid(view.weights))


def bertviz(
    cur: Current, view: explain.AttentionView, flags: tuple[bool, bool], kind: ViewKind, layers: tuple[int, ...],
    header: str,
) -> str:  # fmt: skip
    def build() -> str:
        return bertviz_html(kind, view.weights, view.labels, sentence_b_start=view.sentence_b_start, layers=layers,
                            header=header)  # fmt: skip

    return cache.cached(("bertviz", cur.key, flags, kind, layers, header), build)


def start_timer() -> None:
    st.session_state[K + "t0"] = time.perf_counter()


def server_seconds() -> float:
    return time.perf_counter() - st.session_state.get(K + "t0", time.perf_counter())


def policy() -> explain.SourcePolicy:
    return explain.policy_from_env()


def active_source() -> explain.ModelSource:
    if K + "source" not in st.session_state:
        st.session_state[K + "source"] = explain.default_source(policy())
    source: explain.ModelSource = st.session_state[K + "source"]
    return source


def active_task() -> str | None:
    """The task the user asked the model to run as (the sidebar's Task, a link's ?task=); None = detected."""
    if K + "task" not in st.session_state:
        st.session_state[K + "task"] = st.query_params.get("task") or None
    task: str | None = st.session_state[K + "task"]
    return task


def set_task(task: str | None) -> None:
    st.session_state[K + "task"] = task


def bundle_or_none() -> explain.ModelBundle | None:
    """The active model as the active task; a task it cannot run as is refused (said) and the detected one used."""
    source, task = active_source(), active_task()
    try:
        return load_bundle(source.kind.value, source.ref, task)
    except explain.GlimpseError as exc:
        st.error(md(str(exc)))
        if task is None:
            return None
    set_task(None)
    try:
        return load_bundle(source.kind.value, source.ref)
    except explain.GlimpseError as exc:
        st.error(md(str(exc)))
        return None


def sidebar_texts() -> tuple[str, str | None]:
    """Sentence A and, in pair mode, sentence B, as the sidebar holds them (on any page)."""
    text = widgets.value(K + "text", "")
    return text, (widgets.value(K + "text_b", "") if widgets.value(K + "pair", False) else None)


def current() -> Current | None:
    """The result for the sidebar's text, or the last good one (with the error shown), or None."""
    bundle = bundle_or_none()
    if bundle is None:
        return None
    text, text_b = sidebar_texts()
    key = InputKey.of(bundle, text, text_b)
    try:
        with st.spinner("Running the model…"):
            result = _attention(key, bundle)
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


def _attribution(cur: Current, settings: explain.IGSettings) -> explain.AttributionResult:
    key = ("ig", cur.key, settings)
    hit = cache.results().get(key)
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
    cache.results().put(key, result)  # before any st.* call: a pending rerun raises there and must not lose it
    status.update(label=f"Integrated gradients: done in {result.seconds:.2f} s", state="complete")
    return result


def attribution(cur: Current, settings: explain.IGSettings) -> explain.AttributionResult | None:
    """IG for the current text, cached per (model, text, settings); on failure the error, and the last
    attribution that worked only when it is for this same input (model and text): another input's IG
    beside this input's tokens, attention and prediction would be a wrong picture (or a crash)."""
    try:
        result = _attribution(cur, settings)
    except explain.GlimpseError as exc:
        st.error(md(str(exc)))
        return _fallback(cur, settings)
    st.session_state[K + "last_attribution"] = (cur.key, result)
    return result


def _fallback(cur: Current, settings: explain.IGSettings) -> explain.AttributionResult | None:
    last = st.session_state.get(K + "last_attribution")
    if last is None or last[0] != cur.key:
        st.info(
            "Nothing is shown below: the attribution for this text failed, and the last one that worked was for "
            "another text or model, which does not match this input's tokens and prediction. Try again in a "
            "moment (when the server is less busy), or with a shorter text or a lower step cap."
        )
        return None
    previous: explain.AttributionResult = last[1]
    s = previous.settings
    st.caption(
        "Showing the last attribution that worked for this text"
        + ("." if s == settings else f", computed with the earlier settings (baseline {s.baseline.value}, "
           f"{s.output} of class {previous.target}, first try {s.n_steps} points, cap {s.max_steps}).")
    )  # fmt: skip
    return previous
