"""The shared sidebar: model picker, text input(s), examples, and the model-info panel."""

from __future__ import annotations

import streamlit as st

import explain
from ui import widgets
from ui.state import K as _K
from ui.state import active_source, bundle_or_none, load_bundle, md, policy

EXAMPLES = (
    "The movie was a complete waste of time, but the soundtrack was wonderful.",
    "The animal didn't cross the street because it was too tired.",
    "She said the keys to the old cabinet were on the kitchen table.",
)
EXAMPLE_PAIR = ("The cat sat on the mat all afternoon.", "Where did the cat spend the afternoon?")


def sidebar(page: str = "") -> None:
    """The model picker, the text input(s) and the examples, shared by every page (``page``: its url path)."""
    with st.sidebar:
        st.header("Glimpse")
        _model_picker()
        _text_inputs(page)
        bundle = bundle_or_none()
        if bundle is not None:
            with st.expander("Model info", expanded=False):
                model_info(bundle.info)


def _model_picker() -> None:
    allowed = policy().allowed
    with st.expander("Model", expanded=False):
        st.caption(f"Loaded: {md(active_source().label)}")
        ref = widgets.kept(
            st.text_input,
            _K + "model_ref",
            "",
            label="Load another model",
            placeholder="/path/to/folder or org/model-id",
            help="A Hugging Face BERT-family checkpoint: an absolute folder path (from save_pretrained) "
            "or a hub id (needs network). Empty = the embedded default model. "
            f"Allowed here: {', '.join(sorted(k.value for k in allowed))}.",
        )
        if st.button("Load model", key=_K + "load"):
            try:
                source = explain.resolve_source(ref, policy())
                load_bundle(source.kind.value, source.ref)
            except explain.GlimpseError as exc:
                st.error(md(str(exc)))
            else:
                st.session_state[_K + "source"] = source
                st.rerun()


def set_texts(text: str, text_b: str | None) -> None:
    """Put a text (and its pair, or none) into the sidebar's boxes: from a callback, before they are drawn."""
    widgets.put(_K + "text", text)
    widgets.put(_K + "pair", text_b is not None)
    if text_b is not None:
        widgets.put(_K + "text_b", text_b)


def link_pair(page: str) -> str | None:
    """The second segment a link gives the sidebar. On Compare, ``text_b`` is the sentence compared with
    ``text`` (what a reader of ``/compare?text=X&text_b=Y`` guesses), and a pair only with ``pair=1`` too."""
    if page == "compare" and st.query_params.get("pair") != "1":
        return None
    return st.query_params.get("text_b")


def _text_inputs(page: str) -> None:
    # ?text=...&text_b=... pre-fill the boxes, so a link can share a sentence (or a pair)
    link_b = link_pair(page)
    widgets.kept(st.text_area, _K + "text", st.query_params.get("text", EXAMPLES[0]), label="Text (sentence A)",
                 height=110, help="Type any sentence. Press Ctrl+Enter (or click outside) to analyse it.")  # fmt: skip
    pair = widgets.kept(st.toggle, _K + "pair", link_b is not None, label="Sentence pair",
                        help="Add a sentence B; the model sees [CLS] A [SEP] B [SEP].")  # fmt: skip
    if pair:
        widgets.kept(st.text_area, _K + "text_b", link_b or "", label="Sentence B", height=80)
    st.caption("Examples")
    for i, example in enumerate(EXAMPLES):
        st.button(example, key=f"{_K}example{i}", on_click=set_texts, args=(example, None), width="stretch")
    st.button(
        f"Pair: {EXAMPLE_PAIR[0]} / {EXAMPLE_PAIR[1]}",
        key=_K + "example_pair",
        on_click=set_texts,
        args=EXAMPLE_PAIR,
        width="stretch",
    )


def model_info(info: explain.ModelInfo) -> None:
    st.dataframe(
        {
            "property": [
                "source",
                "family",
                "architecture",
                "layers",
                "heads per layer",
                "hidden size",
                "maximum length (tokens)",
                "labels",
                "parameters",
                "device",
            ],
            "value": [
                info.source,
                info.family,
                info.architecture,
                str(info.num_layers),
                str(info.num_heads),
                str(info.hidden_size),
                str(info.max_length),
                ", ".join(info.labels) if info.labels else "none (no classification head)",
                f"{info.num_parameters / 1e6:.1f} M",
                f"{info.device} (set GLIMPSE_DEVICE=auto|cpu|cuda|mps before starting the app)",
            ],
        },
        hide_index=True,
        width="stretch",
    )
    if info.head_is_random:
        st.warning("This checkpoint's classification head is freshly initialised: its predictions mean nothing.")
