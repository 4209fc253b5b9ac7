"""Attribution page: the prediction, then integrated gradients for it, with the evidence it holds."""

import streamlit as st

import explain
import ui
import ui.answer_pair
import ui.entity_matrix
import ui.export
import ui.task_views
from explain.views import exports as views
from explain.views import figures
from explain.views.highlight import highlight_html
from ui import widgets

st.title("Attribution")
top = ui.task_views.explained("attribution", every=True)
cur, settings = top.cur, top.settings
if top.every:  # a tagger's every entity: one batched run, the entity × token matrix
    assert top.base is not None
    ui.entity_matrix.section(top.base, top.every, settings)
    ui.footer()
    st.stop()
if top.pair:  # a QA reader's answer: IG of its start logit, then of its end logit
    assert top.base is not None
    ui.answer_pair.section(top.base, top.pair, settings)
    ui.footer()
    st.stop()
info = cur.bundle.info
words = widgets.kept(st.toggle, "attribution.words", False, label="Words",
                     help="Sum the scores of a word's pieces (words = runs of characters between spaces).")  # fmt: skip
ui.rollout_tokens(cur, words)
result = ui.attribution(cur, settings)
if result is None:
    st.stop()
ui.attribution_summary(result, info)
method = widgets.kept(
    st.radio, "attribution.method", next(iter(views.METHODS)), label="Colour by", options=list(views.METHODS),
    horizontal=True, help="IG is the certified method; the other two are fast one-pass companions.",
)  # fmt: skip
raw = getattr(result, views.METHODS[method])
labels, scores = explain.word_scores(raw, result.encoding) if words else (result.encoding.tokens, raw)
what = f"{method} for '{info.target or info.labels[result.target]}'"
st.html(highlight_html(labels, scores, what=what))
st.caption(
    "Red tokens push the model towards the explained class, blue tokens away from it; white is neutral. "
    "Colours are scaled to the largest |score|; hover a token for its exact value."
    + (
        " Saliency is a gradient norm, so it has no sign: it shows sensitivity, not direction."
        if "Sal" in method
        else ""
    )
)
st.plotly_chart(figures.attribution_bars(labels, scores, f"{method}, sorted", what), key="attribution.bars")
ui.export.export_panel("attribution", views.attribution_exports(cur.bundle, result, method, words))
ui.footer()
