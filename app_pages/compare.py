"""Compare page: two sentences on this model (minimal pairs), or this text on two models."""

import streamlit as st

import ui
import ui.compare
import ui.export
import ui.task_views
import ui.tasks
from ui import widgets

st.title("Compare")
shown = ui.tasks.current()
if shown is None:
    st.stop()
cur = shown.cur
mode = widgets.kept(
    st.segmented_control,
    "compare.mode",
    "Two models" if st.query_params.get("compare_model") else "Two sentences",
    label="Compare",
    options=["Two sentences", "Two models"],
    required=True,
    help="Two sentences: the sidebar's text (A) against an edited copy (B) on this model. Two models: the "
    "sidebar's text read by this model (A) and by a second one (B).",
)
if shown.prediction is not None:  # a task: its prediction, and its target's view where B has the same one
    ui.task_views.prediction_panel(shown.prediction, shown.request, cur.bundle)
    if mode == "Two sentences":
        cur = ui.compare.task_input(shown)
settings = ui.class_settings(cur) if cur.bundle.info.target is None else ui.tasks.settings(cur)
exports = ui.compare.models(cur, settings) if mode == "Two models" else ui.compare.sentences(cur, settings)
if exports is not None:
    ui.export.export_panel("compare", exports)
ui.footer()
