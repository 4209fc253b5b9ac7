"""A QA reader's answer explained by both its ends: certified IG of the start logit at the predicted start
token and of the end logit at the predicted end token (fixed positions, never a max over positions), one after
the other on the same window, each with its own certificate, colours and export."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import streamlit as st

import explain
import ui.export
from explain.tasks import Choice
from explain.views import exports as views
from explain.views.highlight import highlight_html
from ui import panels, state, tasks
from ui.state import Current, md


def section(base: Current, pair: Sequence[Choice], settings: explain.IGSettings) -> None:
    """Each end of the answer in turn (``base``: the reader itself, not a target view)."""
    for choice in pair:
        viewed = tasks.view_current(base, choice)
        st.subheader(f"Answer {choice.key}: {choice.target.name}")
        st.caption(f"Integrated gradients of the {md(tasks.target_phrase(choice))}.")
        result = state.attribution(viewed, replace(settings, target=choice.target.column))
        if result is None:
            continue
        panels.attribution_summary(result, viewed.bundle.info)
        st.html(
            highlight_html(
                result.encoding.tokens, result.scores, what=f"Integrated gradients of the answer's {choice.key} logit"
            )
        )
        ui.export.export_panel(f"attribution.{choice.key}", views.attribution_exports(viewed.bundle, result))
    st.caption(
        "Red tokens push that logit up (towards the answer starting, or ending, at its token), blue tokens down; "
        "each row's colours are scaled to its own largest |score|. Pick 'start' or 'end' above for one of them "
        "with its bar chart and the gradient companions."
    )
