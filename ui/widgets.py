"""Widgets whose values survive page switches, and widgets built from declared knobs.

Streamlit forgets the state of a widget that a run does not draw, and a widget's identity includes
the page it is drawn on, so leaving a page (even for one whose sidebar draws the same widget) resets it.
The one mechanism here (Streamlit's documented pattern): every control's value lives under a separate,
non-widget key that Streamlit never cleans; the widget is given that value before it is drawn, and an
``on_change`` callback copies the user's change back. Page code reads what the widget returns; code
elsewhere reads :func:`value`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from explain.knobs import Knob

_STORE = "_kept."


def value(key: str, default: Any = None) -> Any:
    """The kept value of a control, drawn on this page or not."""
    if _STORE + key in st.session_state:
        return st.session_state[_STORE + key]
    return st.session_state.get(key, default)


def put(key: str, new: Any) -> None:
    """Set a control's value (from a callback, or before the control is drawn)."""
    st.session_state[_STORE + key] = new
    st.session_state[key] = new


def forget(key: str) -> None:
    """Drop a control's kept value (allowed after it is drawn, unlike :func:`put`): its next draw has the default."""
    st.session_state.pop(_STORE + key, None)
    st.session_state.pop(key, None)


def kept(
    widget: Callable[..., Any], key: str, default: Any, *, valid: Callable[[Any], bool] | None = None, **kwargs: Any
) -> Any:
    """Draw ``widget`` under ``key`` with its kept value (or ``default``, or a value preset in session state).

    ``valid`` says whether a kept value still fits the widget (options can change with the model);
    a value that does not fit falls back to ``default``.
    """
    store = _STORE + key
    if store not in st.session_state:
        st.session_state[store] = st.session_state.get(key, default)  # a preset (a test, a link) counts
    if valid is not None and not valid(st.session_state[store]):
        st.session_state[store] = default
    st.session_state[key] = st.session_state[store]
    return widget(key=key, on_change=_keep, args=(key,), **kwargs)


def _keep(key: str) -> None:
    st.session_state[_STORE + key] = st.session_state[key]


def knob_slider(knob: Knob, key: str, **kwargs: Any) -> Any:
    """A select-slider over a knob's suggested values (all within its bounds)."""
    options = list(knob.suggested)
    return kept(
        st.select_slider,
        key,
        knob.default,
        valid=lambda v: v in options,
        label=knob.label,
        options=options,
        help=knob.help,
        **kwargs,
    )


def knob_choice(
    knob: Knob, key: str, *, options: Sequence[Any] | None = None, radio: bool = False, **kwargs: Any
) -> Any:
    """A selectbox (or horizontal radio) over a knob's choices, or over ``options`` when given."""
    choices = list(options if options is not None else knob.choices or ())
    widget = st.radio if radio else st.selectbox
    extra = {"horizontal": True} if radio else {}
    return kept(
        widget,
        key,
        knob.default if knob.default in choices else choices[0],
        valid=lambda v: v in choices,
        label=knob.label,
        options=choices,
        help=knob.help,
        **extra,
        **kwargs,
    )


def pick_cell(event: Any, layer_key: str, head_key: str) -> None:
    """A click on a layer × head map (a Plotly selection event) sets the layer and head pickers drawn after it.

    A selection stays on its chart across reruns, so it is applied once, when it changes: afterwards the
    pickers are the user's again."""
    points = getattr(getattr(event, "selection", None), "points", None) or []
    if not points:
        return
    picked = (int(points[0]["y"]), int(points[0]["x"]))
    memo = f"_picked.{layer_key}.{head_key}"
    if st.session_state.get(memo) != picked:
        st.session_state[memo] = picked
        put(layer_key, picked[0])
        put(head_key, picked[1])


def layer_and_head(keys: tuple[str, str], layers: int, heads: int) -> tuple[int, int]:
    """A layer picker and a head picker side by side, kept across pages (a value that no longer fits the
    model falls back to 0); a click on a head map sets the same keys."""
    c1, c2 = st.columns(2)
    with c1:
        layer = kept(st.selectbox, keys[0], 0, valid=lambda v: v in range(layers), label="Layer",
                     options=range(layers))  # fmt: skip
    with c2:
        head = kept(st.selectbox, keys[1], 0, valid=lambda v: v in range(heads), label="Head",
                    options=range(heads))  # fmt: skip
    return int(layer), int(head)
