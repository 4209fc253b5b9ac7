"""The Compare page's two modes: two sentences on the loaded model, and one text on two models.

Results are cached per (model weights, texts, settings) in the shared cache. The link carries the comparison:
``?text=…&compare=…`` (and ``&compare_model=…`` for a second model, loaded when the reader presses the
button), so a colleague opens the same view.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

import explain
from explain.compare.edits import EditRule, suggest_edit
from explain.compare.models import ModelComparisonResult, compare_models
from explain.compare.sentences import Prediction, SentenceComparisonResult, compare_sentences
from explain.errors import SettingsError
from explain.models.heads import TaskKind
from explain.tasks import Choice
from explain.views import comparison, diagnostics, figures
from explain.views.exports import ViewExports
from explain.views.highlight import highlight_html
from ui import cache, tasks, widgets
from ui.diagnose import importance
from ui.sidebar import link_pair
from ui.state import Current, md, policy, sidebar_texts

_LAYER, _HEAD = "compare.layer", "compare.head"


def sentences(cur: Current, settings: explain.IGSettings) -> ViewExports | None:
    text_a, pair_a = sidebar_texts()
    b_text, pair_b = _sentence_b(text_a, pair_a)
    if not b_text.strip():
        st.info("No edit rule applies to sentence A: type sentence B to compare with it.")
        return None
    link = {"text": text_a, "compare": b_text}  # the link carries the comparison (and A's pair, said to be one)
    st.query_params.update(link if pair_a is None else {**link, "text_b": pair_a, "pair": "1"})
    bundle = cur.bundle
    try:
        enc_a = explain.prepare_input(bundle, text_a, pair_a)
        enc_b = explain.prepare_input(bundle, b_text, pair_b)
        with st.spinner("Comparing: two forward passes and two certified IG runs…"):
            r: SentenceComparisonResult = cache.cached(
                (
                    "compare",
                    bundle.weights_sha256,
                    bundle.info.task,
                    bundle.info.target,
                    text_a,
                    pair_a,
                    b_text,
                    pair_b,
                    settings,
                ),
                lambda: compare_sentences(bundle, enc_a, enc_b, settings),
            )
    except explain.GlimpseError as exc:
        st.error(md(str(exc)))
        return None
    _predictions(r.prediction_a, r.prediction_b, ("A", "B"))
    for note in r.notes:
        st.info(md(note))
    if r.words is not None:
        what = f"IG for '{bundle.info.target or bundle.info.labels[r.target or 0]}'"
        st.plotly_chart(comparison.delta_figure(r.alignment, r.words, ("A", "B"), what), key="compare.delta")
        _colour_rows(r, what)
    _pick(
        st.plotly_chart(
            diagnostics.head_map(
                r.divergence, "Attention divergence A vs B (Jensen–Shannon, bits)", "JS", signed=False, limit=1.0
            ),
            key="compare.divergence",
            on_select="rerun",
            selection_mode="points",
        )
    )
    st.caption(
        "Each cell: for the words A and B share (and [CLS]/[SEP]), how differently that head spreads its "
        "attention over them, as the Jensen–Shannon divergence between A's and B's attention rows, averaged "
        "over the shared words: 0 = the same, 1 bit = disjoint. "
        + "Most divergent: "
        + ", ".join(f"L{h.layer} H{h.head} ({h.value:.2f})" for h in r.top_heads)
        + "."
    )
    _paired_heads(r.attention_a, r.attention_b, "A", "B")
    _importance_difference(cur, r)
    return comparison.sentence_exports(bundle, r)


_B, _PUT, _FOR, _LAST = "compare.text_b", "compare.b_put", "compare.b_for", "compare.b_last"


def _sentence_b(text_a: str, pair_a: str | None) -> tuple[str, str | None]:
    """Sentence B: A's suggested edit, following A until the user edits B (then a notice when A moves on)."""
    c1, c2 = st.columns([3, 1])
    with c2:
        rule = widgets.kept(
            st.selectbox,
            "compare.rule",
            "auto",
            label="Suggest B by",
            options=["auto", *[r.value for r in EditRule]],
            help="A minimal pair from A: a negation (was → was not, or back), an antonym swap "
            "(good → bad …) or a name/gender swap (he → she, John → Mary …).",
        )
        try:
            edit = suggest_edit(text_a, None if rule == "auto" else rule)
        except explain.GlimpseError as exc:
            edit = None
            st.caption(md(str(exc)))
        suggestion = edit.text if edit is not None else ""
        _follow(text_a, suggestion)
        if edit is not None:
            st.button("Use the suggestion", key="compare.use", on_click=_take, args=(suggestion,),
                      help=md(f"{edit.rule.value}: {edit.detail}"))  # fmt: skip
    with c1:
        b = widgets.kept(st.text_area, _B, suggestion, label="Sentence B", height=80,
                         help="The sentence to compare with sentence A (the sidebar's text). It follows A's "
                         "suggested edit until you edit it.")  # fmt: skip
        written_for = st.session_state[_FOR]
        if b != st.session_state[_PUT] and written_for != text_a:
            st.warning(f"Sentence B was written for an earlier sentence A (“{md(written_for[:80])}”). Edit B, "
                       "or press **Use the suggestion** to follow A again.")  # fmt: skip
    pair_b = None
    if pair_a is not None:
        pair_b = widgets.kept(st.text_area, "compare.pair_b", pair_a, label="Sentence B's second segment", height=68)
    return b, pair_b


def _follow(text_a: str, suggestion: str) -> None:
    """Before B is drawn: B still as the page last wrote it follows A's current suggestion; a B the user
    typed (or a link gave) stays, and ``_FOR`` remembers which A it was written for."""
    state = st.session_state
    if _PUT not in state:  # the first visit: a link's B is the sender's own sentence, not a suggestion
        given = st.query_params.get("compare") or (st.query_params.get("text_b") if link_pair("compare") is None
                                                    else None)  # fmt: skip
        widgets.put(_B, given or suggestion)
        state[_PUT], state[_FOR], state[_LAST] = (None if given else suggestion), text_a, given or suggestion
    b = widgets.value(_B, "")
    if b == state[_PUT]:
        widgets.put(_B, suggestion)
        state[_PUT], state[_FOR] = suggestion, text_a
    elif b != state[_LAST]:  # edited since the last run: written for this A
        state[_FOR] = text_a
    state[_LAST] = widgets.value(_B, "")


def _take(suggestion: str) -> None:
    widgets.put(_B, suggestion)
    st.session_state[_PUT] = st.session_state[_LAST] = suggestion


def _predictions(a: Prediction | None, b: Prediction | None, names: tuple[str, str]) -> None:
    if a is None or b is None:
        st.info("A model without a classification head makes no prediction; the attention is still compared.")
        return
    cols = st.columns(3)
    cols[0].metric(f"Prediction {names[0]}", md(a.label), help=f"P = {a.probabilities.max():.1%}")
    cols[1].metric(f"Prediction {names[1]}", md(b.label), help=f"P = {b.probabilities.max():.1%}")
    if a.labels == b.labels:
        k = a.label_id
        cols[2].metric(
            f"P({md(a.labels[k])}) {names[1]} − {names[0]}",
            f"{b.probabilities[k] - a.probabilities[k]:+.1%}",
            help=f"{names[0]}: {a.probabilities[k]:.1%}, {names[1]}: {b.probabilities[k]:.1%}.",
        )


def _colour_rows(r: SentenceComparisonResult, what: str) -> None:
    assert r.words is not None
    labels = comparison.row_labels(r.alignment)
    for name, values in (("A", r.words.scores_a), ("B", r.words.scores_b), ("Δ = B − A", r.words.delta)):
        st.markdown(f"**{name}**")
        st.html(highlight_html(labels, np.asarray(values), what=what, limit=r.words.limit))
    st.caption(
        "Rows are the aligned words: (+) only in B, (−) only in A, (≠) replaced. One colour scale for all three."
    )


def _paired_heads(
    result_a: explain.AttentionResult,
    result_b: explain.AttentionResult,
    a: str,
    b: str,
    match: Callable[[int, int], tuple[int, int]] | None = None,
) -> None:
    """A head of A beside B's: the same layer and head, or ``match``'s choice (another model's best match)."""
    st.markdown("**A head side by side** (click a cell of the map above, or pick one)")
    layers, heads = result_a.weights.shape[:2]
    layer, head = widgets.layer_and_head((_LAYER, _HEAD), layers, heads)
    left, right = st.columns(2)
    in_b = match(layer, head) if match is not None else (layer, head)
    for col, result, name, (layer_here, head_here) in ((left, result_a, a, (layer, head)), (right, result_b, b, in_b)):
        view = explain.attention_view(result, hide_special=False, merge_words=True)
        col.plotly_chart(
            figures.attention_heatmap(
                view.weights[layer_here, head_here], view.labels, f"{name}: layer {layer_here}, head {head_here}"
            ),
            key=f"compare.heat.{name}",
        )


def _importance_difference(cur: Current, r: SentenceComparisonResult) -> None:
    box = st.expander(
        "Which heads matter differently (head ablation on A and on B)", key="compare.importance_open", on_change="rerun"
    )
    if not box.open or r.target is None:
        return
    with box:
        imp = [importance(cur.bundle, enc, r.target) for enc in (r.alignment.encoding_a, r.alignment.encoding_b)]
        diff = imp[1].delta_probability - imp[0].delta_probability
        st.plotly_chart(
            diagnostics.head_map(diff, "Δ P when a head is removed: B minus A", "ΔΔ P", signed=True),
            key="compare.importance",
        )
        st.caption(
            "Red: removing the head lowers the class less (or raises it more) in B than in A. A head whose "
            "importance flips between the two sentences is one that reacts to the edit."
        )


def models(cur: Current, settings: explain.IGSettings) -> ViewExports | None:
    limits = cache.limits()
    ref = widgets.kept(
        st.text_input,
        "compare.model_b",
        st.query_params.get("compare_model", "embedded"),
        label="Second model",
        placeholder="/path/to/folder, org/model-id or embedded",
        help=f"Loaded under the server's source policy. At most {limits['max_models']} models stay "
        "loaded; the least recently used is evicted.",
    )
    text, pair = sidebar_texts()
    if st.button("Load and compare", key="compare.load_model_b", type="primary"):
        st.session_state["compare.model_b_loaded"] = ref
    if st.session_state.get("compare.model_b_loaded") != ref:  # a link or a typed name never loads by itself
        st.info(f"Press **Load and compare** to load {md(ref or 'embedded')} as model B and compare.")
        return None
    try:
        with st.spinner("Loading the second model…"):
            second = same_task(cur.bundle, explain.resolve_source(ref, policy()))
        with st.spinner("Comparing the two models…"):
            r: ModelComparisonResult = cache.cached(
                (
                    "compare-models",
                    cur.bundle.weights_sha256,
                    second.weights_sha256,
                    cur.bundle.info.task,
                    text,
                    pair,
                    settings,
                ),
                lambda: compare_models(cur.bundle, second, text, pair, settings),
            )
    except explain.GlimpseError as exc:
        st.error(md(str(exc)))
        return None
    st.query_params.update({"text": text, "compare_model": ref})
    st.caption(f"A = {md(r.model_a)}, B = {md(r.model_b)}. This server keeps {limits['max_models']} models loaded.")
    _predictions(r.prediction_a, r.prediction_b, ("A", "B"))
    for note in r.notes:
        st.info(md(note))
    if r.words is not None:
        st.plotly_chart(
            comparison.delta_figure(r.alignment, r.words, ("model A", "model B"), "IG per typed word"),
            key="compare.models_delta",
        )
    left, right = st.columns(2)
    for col, result, name in ((left, r.attention_a, "A"), (right, r.attention_b, "B")):
        col.markdown(f"**Layer × head grid, model {name}**")
        col.plotly_chart(figures.head_grid(result.weights), key=f"compare.grid.{name}")
    _pick(
        st.plotly_chart(
            comparison.similarity_map(r), key="compare.similarity", on_select="rerun", selection_mode="points"
        )
    )
    st.caption(
        "Each cell: for that head of model A, how alike its attention pattern (words × words, Pearson r) is "
        "to its best match among all heads of model B (hover for which). Least matched: "
        + ", ".join(f"L{h.layer} H{h.head} (r {h.value:.2f})" for h in r.least_matched)
        + "."
    )
    sim = r.similarity
    _paired_heads(
        r.attention_a,
        r.attention_b,
        "model A",
        "model B best match",
        lambda la, h: (max(int(sim.best_layer[la, h]), 0), max(int(sim.best_head[la, h]), 0)),
    )
    return comparison.model_exports(cur.bundle, r)


def same_task(first: explain.ModelBundle, source: explain.ModelSource) -> explain.ModelBundle:
    """Model B loaded as model A's task (a checkpoint that can run as it), else refused: two tasks' outputs
    (a tag per token against an answer span) have nothing to compare. A bare encoder on either side is
    compared by attention, as ever."""
    second = cache.models().get(source)
    task = first.info.task
    if second.info.task == task or TaskKind.ENCODER in (task, second.info.task):  # a bare encoder: attention only
        return second
    if task in second.info.tasks:
        return cache.models().get(source, TaskKind(task))
    raise SettingsError(
        f"Model A runs as {task} and model B as {second.info.task} (it can run as: {', '.join(second.info.tasks)}). "
        f"Compare needs two models of the same task: load a second {task} model, or switch model A's task."
    )


def task_input(shown: tasks.Shown, page: str = "compare") -> Current:
    """What Compare explains for a task: the chosen target's view when it is one output of the whole text
    (multi-label, regression), which sentence B has too; else the model itself (attention compared), since a
    target at a token (a tag, a mask, an answer's start) or on a hypothesis has no twin in sentence B."""
    assert shown.prediction is not None
    pick = tasks.chosen(shown.prediction, page)
    if not isinstance(pick, Choice):
        return shown.cur
    t = pick.target
    same_text = (pick.encoding.text, pick.encoding.text_b) == (shown.cur.result.encoding.text,
                                                               shown.cur.result.encoding.text_b)  # fmt: skip
    if t.position is None and t.head == "logits" and same_text:
        return tasks.view_current(shown.cur, pick)
    st.info(
        f"Compare contrasts attention here: the {md(tasks.target_phrase(pick))} is read at a place in this input "
        "that the other side does not share, so it has no IG to compare. Attribution and Diagnose explain it."
    )
    return shown.cur


def _pick(event: object) -> None:
    widgets.pick_cell(event, _LAYER, _HEAD)
