"""Tasks in the app: the sidebar's Task select and each task's inputs, the request they make, the cached
prediction, and the target picker whose choice every explaining page reads.

A page never branches on the task: it asks this module for the prediction and the chosen target, and runs
the methods it always ran on the target's view (:meth:`explain.tasks.Choice.view`, a classifier of that one
output), wrapped as a :class:`~ui.state.Current` so the existing caches and panels take it unchanged.
Classification keeps its own path (``ui.panels``): its class picker is the target picker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

import explain
from explain.models.heads import TASK_HELP, TaskKind
from explain.tasks import DEFAULT_TEMPLATE, Choice, TaskPrediction, TaskRequest, task_of
from explain.tasks.masks import mask_texts
from ui import cache, controls, widgets
from ui.state import Current, InputKey, K, bundle_or_none, md, set_task
from ui.state import current as classifier_current

P = K + "task."  # session-state prefix of the task inputs


@dataclass(frozen=True)
class Field:
    """One task input in the sidebar: declared here once, drawn by :func:`task_inputs`, read by :func:`request`,
    pre-filled from the URL parameter of the same name."""

    name: str  # the URL parameter and the session key (after P)
    widget: str  # "text", "toggle", "slider", "number"
    label: str
    help: str
    default: Any
    bounds: tuple[float, float, float] = (0.0, 0.0, 0.0)  # min, max, step (slider, number)


LABELS = Field("labels", "text", "Candidate labels", "The labels to score, separated by commas. Each becomes a "
               "hypothesis (the template with the label in it) that the model reads after your text; a label's "
               "score is how strongly the text **entails** it (the NLI model's 'entailment' class: the text "
               "makes the hypothesis true).", "film, music, sport, politics")  # fmt: skip
TEMPLATE = Field("template", "text", "Hypothesis template", "The sentence each label is put into, at '{}'. "
                 f"transformers' zero-shot pipeline uses '{DEFAULT_TEMPLATE}'.", DEFAULT_TEMPLATE)  # fmt: skip
MULTI = Field("multi", "toggle", "Several labels can be true", "Off: the labels compete (a softmax over their "
              "entailment logits, scores sum to 1). On: each label is scored on its own (entailment against "
              "contradiction), so any number can score high.", False)  # fmt: skip
THRESHOLD = Field("threshold", "slider", "Threshold", "A label is predicted when its probability (its own sigmoid, "
                  "independent of the other labels) reaches this.", 0.5, (0.05, 0.95, 0.05))  # fmt: skip
TOP_K = Field("top_k", "number", "Top-k", "How many candidates to list: the k likeliest words per [MASK], or "
              "the k best answer spans.", 5, (1, 20, 1))  # fmt: skip

#: The inputs each task asks for, besides the text(s).
FIELDS: dict[TaskKind, tuple[Field, ...]] = {
    TaskKind.ZERO_SHOT: (LABELS, TEMPLATE, MULTI),
    TaskKind.MULTI_LABEL: (THRESHOLD,),
    TaskKind.FILL_MASK: (TOP_K,),
    TaskKind.QUESTION_ANSWERING: (TOP_K,),
}
#: What the two text boxes are for a task that gives them a meaning; such a task always has both.
TEXT_BOXES: dict[TaskKind, tuple[str, str]] = {TaskKind.QUESTION_ANSWERING: ("Question", "Context")}
#: What the target picker's help says a target is, per task.
TARGET_HELP: dict[TaskKind, str] = {
    TaskKind.TOKEN_CLASSIFICATION: "An entity is explained by its first word's tag logit (the B- tag that opens "
    "it: BIO tags mark the Beginning, the Inside of an entity, and O for Outside). Any token's predicted tag can "
    "be explained too. 'Every entity' explains them all in one batched run.",
    TaskKind.QUESTION_ANSWERING: "The answer span is where the start logit (how much the model wants the answer "
    "to begin at a token) and the end logit (to end there) are highest. Each is explained at its predicted "
    "token, the position held fixed.",
    TaskKind.FILL_MASK: "A candidate word is explained by its logit at that [MASK] (not the probability: a "
    "softmax over the whole vocabulary saturates).",
    TaskKind.ZERO_SHOT: "A label is explained by its hypothesis's entailment logit, on the text paired with "
    "that hypothesis.",
    TaskKind.MULTI_LABEL: "A label is explained by its own logit; as a probability, by its sigmoid.",
    TaskKind.REGRESSION: "The head's single output value.",
}
EVERY = "__every_entity__"  # the picker's "every entity" option (tagging, Attribution page)
BOTH = "__start_and_end__"  # the picker's "start and end" option (QA, Attribution page): its default there


def texts(kind: TaskKind) -> tuple[str, str | None]:
    """The sidebar's text and text B for ``kind`` (a two-box task always reads both)."""
    text = widgets.value(K + "text", "")
    if kind in TEXT_BOXES:
        return text, widgets.value(K + "text_b", "")
    return text, (widgets.value(K + "text_b", "") if widgets.value(K + "pair", False) else None)


def task_select(bundle: explain.ModelBundle) -> explain.ModelBundle:
    """The sidebar's Task select (every model): an override reloads the model as that task; returns the model
    as the task now chosen."""
    info = bundle.info
    pick = widgets.kept(
        st.selectbox, K + "task_pick", info.task, valid=lambda v: v in info.tasks, label="Task",
        options=list(info.tasks), format_func=lambda t: t + (" (detected)" if t == info.detected_task else ""),
        help="What the model's head does; the config names one (detected), and some checkpoints can run as "
        "others. " + " ".join(f"**{k}**: {TASK_HELP[TaskKind(k)]}." for k in info.tasks),
    )  # fmt: skip
    if pick == info.task:
        return bundle
    set_task(None if pick == info.detected_task else pick)
    return bundle_or_none() or bundle


def reset_task() -> None:
    """A newly loaded model starts as the task its config names."""
    set_task(None)
    widgets.forget(K + "task_pick")  # drawn already in this run: forgotten, so the next run draws the default


def task_inputs(kind: TaskKind) -> None:
    """The inputs ``kind`` declares in FIELDS, kept across pages, pre-filled from the URL."""
    for f in FIELDS.get(kind, ()):
        key = P + f.name
        default = _from_url(f)
        if f.widget == "text":
            widgets.kept(st.text_input, key, default, label=f.label, help=f.help)
        elif f.widget == "toggle":
            widgets.kept(st.toggle, key, default, label=f.label, help=f.help)
        else:
            lo, hi, step = f.bounds
            cast = float if f.widget == "slider" else int
            widget = st.slider if f.widget == "slider" else st.number_input
            widgets.kept(widget, key, cast(default), valid=lambda v, lo=lo, hi=hi: lo <= v <= hi, label=f.label,
                         min_value=cast(lo), max_value=cast(hi), step=cast(step), help=f.help)  # fmt: skip


def _from_url(f: Field) -> Any:
    raw = st.query_params.get(f.name)
    if raw is None:
        return f.default
    try:
        if f.widget == "toggle":
            return raw.lower() in ("1", "true", "yes", "on")
        if f.widget in ("slider", "number"):
            value = (float if f.widget == "slider" else int)(raw)
            return value if f.bounds[0] <= value <= f.bounds[1] else f.default
    except ValueError:
        return f.default
    return raw


def _field(f: Field) -> Any:
    return widgets.value(P + f.name, _from_url(f))


def example(bundle: explain.ModelBundle) -> tuple[str, str | None] | None:
    """A text that shows the task at work (a [MASK] to fill, a question and its context), or None."""
    kind = TaskKind(bundle.info.task)
    if kind is TaskKind.FILL_MASK:
        return f"The movie was a complete {mask_texts(bundle)[0]} of time.", None
    if kind is TaskKind.QUESTION_ANSWERING:
        return "Where did the cat spend the afternoon?", "The cat sat on the mat all afternoon."
    return None


def request(kind: TaskKind) -> TaskRequest:
    """The TaskRequest the sidebar makes for ``kind`` (fields the task does not use keep their defaults)."""
    text, text_b = texts(kind)
    labels = tuple(s.strip() for s in str(_field(LABELS)).split(",") if s.strip())
    return TaskRequest(text, text_b, labels, str(_field(TEMPLATE)), bool(_field(MULTI)), float(_field(THRESHOLD)),
                       int(_field(TOP_K)))  # fmt: skip


def prediction(bundle: explain.ModelBundle, req: TaskRequest) -> TaskPrediction:
    """The task's prediction, cached per (model, task, text, request)."""
    key = ("prediction", InputKey.of(bundle, req.text, req.text_b), req)
    return cache.cached(key, lambda: task_of(bundle).predict(bundle, req))


@dataclass(frozen=True)
class Shown:
    """What a page shows for the sidebar's input: the model and its attention on the prediction's input, and the
    task's prediction (None for a classifier, whose prediction panel reads the attention pass's logits)."""

    cur: Current
    prediction: TaskPrediction | None
    request: TaskRequest | None = None


def current() -> Shown | None:
    """The prediction and attention for the sidebar's input, or the last good ones (the error shown), or None."""
    bundle = bundle_or_none()
    if bundle is None:
        return None
    if bundle.info.has_classifier:
        cur = classifier_current()
        return None if cur is None else Shown(cur, None)
    req = request(TaskKind(bundle.info.task))
    try:
        with st.spinner("Running the model…"):
            pred = prediction(bundle, req)
            key = InputKey.of(bundle, pred.encoding.text, pred.encoding.text_b)
            result = cache.cached(("task-attention", key), lambda: explain.run_attention(bundle, pred.encoding))
    except explain.GlimpseError as exc:
        st.error(md(str(exc)))
        last: Shown | None = st.session_state.get(K + "last_task")
        if last is None or last.cur.bundle is not bundle:
            return None
        st.caption("Showing the last input that worked.")
        return last
    shown = Shown(Current(bundle, result, key), pred, req)
    st.session_state[K + "last_task"] = shown
    return shown


def chosen(prediction: TaskPrediction, page: str, every: bool = False) -> Choice | tuple[Choice, ...] | None:
    """The target the page's picker names (the prediction's default at first); with ``every``, a tagger's
    "every entity" option returns all its entities, and a QA reader's "start and end" (the default there) both
    ends of the answer. None (said) when the model predicts nothing."""
    if not prediction.choices:
        st.info("This model makes no prediction, so there is nothing to explain; its attention is on the "
                "Attention page.")  # fmt: skip
        return None
    by_key = {c.key: c for c in reversed(prediction.choices)}  # a repeated key means its first choice
    entities = tuple(c for c in prediction.choices if c.group == "entities")
    pair = prediction.choices[: prediction.defaults] if every and prediction.defaults > 1 else ()
    options = ([EVERY] if every and entities else []) + ([BOTH] if pair else [])
    options += list(dict.fromkeys(c.key for c in prediction.choices))
    assert prediction.default is not None
    pick = widgets.kept(
        st.selectbox, f"{page}.task_target", BOTH if pair else prediction.default.key, valid=lambda v: v in options,
        label="Explain", options=options, help=TARGET_HELP.get(prediction.task, ""),
        format_func=lambda k: f"every entity ({len(entities)}, one batched run)" if k == EVERY
        else " and ".join(c.key for c in pair) + " (both, one after the other)" if k == BOTH
        else f"{by_key[k].group} · {by_key[k].target.name}",
    )  # fmt: skip
    return entities if pick == EVERY else pair if pick == BOTH else by_key[pick]


def view_current(cur: Current, choice: Choice) -> Current:
    """The model seen as a classifier of ``choice``'s target, with its attention on the choice's input: what
    every class-explaining page and cache takes."""
    view = choice.view(cur.bundle)
    key = InputKey.of(view, choice.encoding.text, choice.encoding.text_b)
    result = cache.cached(("task-attention", key), lambda: explain.run_attention(view, choice.encoding))
    return Current(view, result, key)


def target_phrase(choice: Choice) -> str:
    """The one number a choice explains, in words: "start logit at token 7 'paris'"."""
    t, tokens = choice.target, choice.encoding.tokens
    if t.head != "logits":  # QA: the position is the class
        return f"{t.head.removesuffix('_logits')} logit at token {t.index} '{tokens[int(t.index or 0)]}'"
    label = choice.labels[int(t.index or 0)] if not t.pair else choice.labels[0]
    where = "" if t.position is None else f" at token {t.position} '{tokens[t.position]}'"
    return f"{'logit (sigmoid as a probability)' if t.pair else 'logit'} of '{label}'{where}"


def settings(viewed: Current, prefix: str = "attribution") -> explain.IGSettings:
    """The IG controls for a target's view: its class is the target (no class picker)."""
    target = getattr(viewed.bundle.model, "target", None)
    return controls.ig_settings(viewed.bundle.info, target.column if target else 0, prefix, fixed=True)
