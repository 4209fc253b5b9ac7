"""The shared sidebar: model picker, text input(s), examples, and the model-info panel."""

from __future__ import annotations

import streamlit as st

import explain
from explain.models.heads import TaskKind
from explain.models.sources import EMBEDDED_NER
from ui import tasks, widgets
from ui.state import K as _K
from ui.state import active_source, bundle_or_none, load_bundle, md, policy

EXAMPLES = (
    "The movie was a complete waste of time, but the soundtrack was wonderful.",
    "The animal didn't cross the street because it was too tired.",
    "She said the keys to the old cabinet were on the kitchen table.",
)
EXAMPLE_PAIR = ("The cat sat on the mat all afternoon.", "Where did the cat spend the afternoon?")


def sidebar(page: str = "") -> None:
    """The model picker, the Task select, the text input(s), the task's inputs and the examples, shared by every
    page (``page``: its url path)."""
    with st.sidebar:
        st.header("Glimpse")
        _model_picker()
        bundle = bundle_or_none()
        if bundle is not None:
            bundle = tasks.task_select(bundle)
        kind = TaskKind(bundle.info.task) if bundle is not None else TaskKind.CLASSIFICATION
        _text_inputs(page, kind)
        tasks.task_inputs(kind)
        example = tasks.example(bundle) if bundle is not None else None
        if example is not None:
            st.button(f"Example: {' / '.join(t for t in example if t)}", key=_K + "task_example", on_click=set_texts,
                      args=example, width="stretch")  # fmt: skip
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
            load_source(ref)
        if st.button("Embedded NER (WNUT-17)", key=_K + "load_ner", help=NER_HELP):
            load_source(EMBEDDED_NER)


NER_HELP = (
    "A small token classifier bundled with Glimpse: MiniLM fine-tuned on WNUT-17 (emerging entities in social "
    "media: person, location, corporation, product, creative-work, group), BIO tags."
)


def load_source(ref: str) -> None:
    """Load a model (a typed reference) and make it the active one, as the task its config names; on failure
    the message, and the previous model stays."""
    try:
        source = explain.resolve_source(ref, policy())
        load_bundle(source.kind.value, source.ref)
    except explain.GlimpseError as exc:
        st.error(md(str(exc)))
    else:
        st.session_state[_K + "source"] = source
        tasks.reset_task()
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


def _text_inputs(page: str, kind: TaskKind) -> None:
    # ?text=...&text_b=... pre-fill the boxes, so a link can share a sentence (or a pair)
    link_b = link_pair(page)
    boxes = tasks.TEXT_BOXES.get(kind)
    widgets.kept(st.text_area, _K + "text", st.query_params.get("text", EXAMPLES[0]),
                 label=boxes[0] if boxes else "Text (sentence A)", height=110,
                 help="Type any sentence. Press Ctrl+Enter (or click outside) to analyse it.")  # fmt: skip
    if boxes:  # the task reads both boxes: no pair toggle
        widgets.kept(
            st.text_area,
            _K + "text_b",
            link_b or "",
            label=boxes[1],
            height=110,
            help="The passage that holds the answer; the model reads [CLS] question [SEP] context [SEP].",
        )
        return
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
                "task",
                "can run as",
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
                info.task
                + (" (detected)" if info.task == info.detected_task else f" (detected: {info.detected_task})"),
                ", ".join(info.tasks),
                str(info.num_layers),
                str(info.num_heads),
                str(info.hidden_size),
                str(info.max_length),
                _labels(info),
                f"{info.num_parameters / 1e6:.1f} M",
                f"{info.device} (set GLIMPSE_DEVICE=auto|cpu|cuda|mps before starting the app)",
            ],
        },
        hide_index=True,
        width="stretch",
    )
    if info.head_is_random:
        st.warning("This checkpoint's classification head is freshly initialised: its predictions mean nothing.")


def _labels(info: explain.ModelInfo) -> str:
    if not info.labels:
        return "none (no classification head)"
    if len(info.labels) > 40:  # a masked LM's vocabulary
        return f"{len(info.labels):,} ({', '.join(info.labels[:5])}, …)"
    return ", ".join(info.labels)
