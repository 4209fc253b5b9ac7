"""What the pages show of a task: its prediction (headline, table, the text with what it points at, notices),
and the top of every explaining page (the prediction, the target picker, the IG controls on the target's view).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

import explain
from explain.inputs import clean_text
from explain.tasks import Choice, TaskPrediction, TaskRequest
from explain.views.highlight import spans_html
from ui import panels, tasks
from ui.state import Current, md


def prediction_panel(prediction: TaskPrediction, request: TaskRequest | None, bundle: explain.ModelBundle) -> None:
    """The task's headline, the text with its entities / answer / masks marked, the table, the notices."""
    for notice in prediction.notices:
        st.info(md(notice))
    if bundle.info.head_is_random:
        st.warning("This checkpoint's task head was freshly initialised (its weights are not in the checkpoint): "
                   "the predictions below mean nothing.")  # fmt: skip
    if not prediction.choices:
        return
    st.markdown(f"**{md(prediction.task.value)}:** {md(prediction.headline)}")
    if prediction.highlights and request is not None:
        highlighted(prediction, request)
    if prediction.rows:
        st.dataframe(list(prediction.rows), hide_index=True, key="task.rows")


def highlighted(prediction: TaskPrediction, request: TaskRequest) -> None:
    """Each segment holding a highlight, its spans marked (the text escaped: never HTML)."""
    segments = (request.text, request.text_b or "")
    for segment, text in enumerate(segments):
        spans = [(h.start, h.end, h.label) for h in prediction.highlights if h.segment == segment]
        if spans:
            st.html(spans_html(clean_text(text)[0], spans))


@dataclass(frozen=True)
class Explained:
    """The top of an explaining page: the input (a target's view for a task), the IG settings, and what is
    explained (``every``: a tagger's entities, explained together)."""

    cur: Current
    settings: explain.IGSettings
    choice: Choice | None = None  # None for a classifier (its class picker chose)
    every: tuple[Choice, ...] = ()
    base: Current | None = None  # the model itself, before the target view
    pair: tuple[Choice, ...] = ()  # a QA reader's start and end, explained one after the other


def explained(page: str, every: bool = False) -> Explained:
    """Prediction, target picker and IG controls; stops the page when nothing can be explained."""
    shown = tasks.current()
    if shown is None:
        st.stop()
    if shown.prediction is None:  # a classifier: as it always was
        panels.notices(shown.cur.result.encoding)
        panels.prediction_panel(shown.cur)
        if not shown.cur.bundle.info.has_classifier:
            st.stop()
        return Explained(shown.cur, panels.class_settings(shown.cur))
    prediction_panel(shown.prediction, shown.request, shown.cur.bundle)
    pick = tasks.chosen(shown.prediction, page, every)
    if pick is None:
        st.stop()
    if isinstance(pick, tuple) and pick[0].group != "entities":  # QA: the answer's start and end
        viewed = tasks.view_current(shown.cur, pick[0])
        st.caption(f"Explaining both ends of the answer: {' and '.join(md(c.target.name) for c in pick)}.")
        return Explained(viewed, tasks.settings(viewed), None, (), shown.cur, pick)
    if isinstance(pick, tuple):
        viewed = tasks.view_current(shown.cur, pick[0])
        st.caption(f"Explaining every entity's tag logit ({len(pick)}), each at its first token.")
        return Explained(viewed, tasks.settings(viewed), None, pick, shown.cur)
    viewed = tasks.view_current(shown.cur, pick)
    st.caption(f"Explaining the {md(tasks.target_phrase(pick))}: {md(pick.target.name)}.")
    return Explained(viewed, tasks.settings(viewed), pick, (), shown.cur)
