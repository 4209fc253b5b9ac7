"""Compare page: two sentences on this model (minimal pairs), or this text on two models."""

import streamlit as st

import ui
import ui.compare
import ui.export
from ui import widgets

st.title("Compare")
cur = ui.current()
if cur is None:
    st.stop()
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
settings = ui.class_settings(cur)
exports = ui.compare.models(cur, settings) if mode == "Two models" else ui.compare.sentences(cur, settings)
if exports is not None:
    ui.export.export_panel("compare", exports)
ui.footer()
