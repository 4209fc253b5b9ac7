"""Diagnose page: which heads matter, whether attention agrees with IG, which explanation to believe."""

import streamlit as st

import ui
import ui.diagnose
import ui.export
from explain.methods.diagnosis import Diagnosis
from explain.views.diagnose_exports import diagnose_exports

st.title("Diagnose")
cur, settings = ui.explained_input()
info = cur.bundle.info
result = ui.attribution(cur, settings)
if result is None:
    st.stop()
st.caption(
    f"Explaining P({ui.state.md(info.labels[result.target])}); integrated gradients certified at "
    f"{result.n_steps} steps (δ {result.relative_delta:.2%}, per-token change {result.token_error:.2%})."
)
names = ["Heads that matter", "Attention vs IG", "Which explanation to believe", "Sanity check"]
tabs = st.tabs(
    names,
    key="diagnose.tab",
    on_change="rerun",
)
sections = (
    ui.diagnose.heads_that_matter,
    ui.diagnose.attention_vs_ig,
    ui.diagnose.which_explanation,
    ui.diagnose.sanity_section,
)
diagnosis, opened = Diagnosis(result), "none"
for name, tab, section in zip(names, tabs, sections, strict=True):
    if tab.open:  # only the open tab computes
        with tab:
            diagnosis, opened = section(cur, result), name
ui.export.export_panel("diagnose", diagnose_exports(cur.bundle, diagnosis, opened))
ui.footer()
