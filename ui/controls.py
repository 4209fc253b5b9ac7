"""Settings forms built from the declared knobs: what a page asks before it computes."""

from __future__ import annotations

import streamlit as st

import explain
from explain.knobs import knob
from explain.methods.attribution import BASELINE_HELP, IG_KNOBS
from ui import widgets

PREDICTED = -1  # "the predicted class" in the class picker (None would read as "nothing chosen")


def ig_settings(
    info: explain.ModelInfo, predicted: int, prefix: str = "attribution", fixed: bool = False
) -> explain.IGSettings:
    """The IG controls of a page (class, output, baseline, accuracy), returning the settings they make.
    ``fixed``: the class is ``predicted`` and no class picker is drawn (a task's target view, whose picker
    is the task's own)."""
    c1, c2, c3 = st.columns(3)
    classes = [PREDICTED, *range(len(info.labels))]
    with c1:
        if fixed:
            target = predicted
            st.caption("Explained: the target picked above.")
        else:
            target = widgets.knob_choice(
                knob(IG_KNOBS, "target"), f"{prefix}.target", options=classes,
                format_func=lambda i: f"the predicted class ({info.labels[predicted]})" if i < 0 else info.labels[i],
            )  # fmt: skip
    with c2:
        output = widgets.knob_choice(knob(IG_KNOBS, "output"), f"{prefix}.output", radio=True)
    with c3:
        baseline = widgets.knob_choice(knob(IG_KNOBS, "baseline"), f"{prefix}.baseline",
                                       format_func=lambda b: BASELINE_HELP[explain.Baseline(b)])  # fmt: skip
    with st.expander("Accuracy"):
        tolerance = widgets.knob_slider(knob(IG_KNOBS, "tolerance"), f"{prefix}.tol", format_func=lambda t: f"{t:.1%}")
        cap = widgets.knob_slider(knob(IG_KNOBS, "max_steps"), f"{prefix}.cap")
    return explain.IGSettings(target=None if target == PREDICTED else target, output=output, baseline=baseline,
                              tolerance=tolerance, max_steps=cap)  # fmt: skip
