"""Diagnose page: which heads matter, whether attention agrees with IG, which explanation to believe."""

import streamlit as st

import ui
import ui.diagnose
import ui.export
import ui.task_views
import ui.waits
from explain.methods.diagnosis import Diagnosis
from explain.views.diagnose_exports import diagnose_exports

st.title("Diagnose")
top = ui.task_views.explained("diagnose")
cur, settings = top.cur, top.settings
info = cur.bundle.info
ui.waits.diagnose_notice(cur, settings)
header = st.container()  # IG's progress and summary, above the tabs, filled once the head maps are drawn
names = ["Heads that matter", "Attention vs IG", "Which explanation to believe", "Sanity check"]
tabs = st.tabs(names, key="diagnose.tab", on_change="rerun")
heads = None
if tabs[0].open:  # the head maps need only the class, not IG: they show first on a long input
    with tabs[0]:
        heads = ui.diagnose.heads_that_matter(cur, ui.diagnose.explained_target(cur, settings))
with header:
    result = ui.attribution(cur, settings)
if result is None:
    st.stop()
header.caption(
    f"Explaining P({ui.state.md(info.target or info.labels[result.target])}); integrated gradients certified at "
    f"{result.n_steps} steps (δ {result.relative_delta:.2%}, per-token error {result.token_error:.2%})."
)
diagnosis, opened = Diagnosis(result), "none"
if heads is not None and heads[0].target == result.target:  # an earlier IG may explain another class
    diagnosis, opened = Diagnosis(result, importance=heads[0], sweep=heads[1]), names[0]
sections = (ui.diagnose.attention_vs_ig, ui.diagnose.which_explanation, ui.diagnose.sanity_section)
for name, tab, section in zip(names[1:], tabs[1:], sections, strict=True):
    if tab.open:  # only the open tab computes
        with tab:
            diagnosis, opened = section(cur, result), name
ui.export.export_panel("diagnose", diagnose_exports(cur.bundle, diagnosis, opened))
ui.footer()
