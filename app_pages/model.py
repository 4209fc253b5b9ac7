"""Model page: what is loaded, and how to load your own."""

import streamlit as st

import ui
import ui.cache
from explain.models.sources import EMBEDDED_NER
from ui.sidebar import NER_HELP, load_source
from ui.state import md

st.title("Model")
bundle = ui.state.bundle_or_none()
if bundle is None:
    st.stop()
ui.model_info(bundle.info)
if st.button("Embedded NER (WNUT-17)", key="model.load_ner", help=NER_HELP):
    load_source(EMBEDDED_NER)
ui.model_info_download(bundle)
st.caption(
    "Attention comes from the model run with eager attention (fused kernels return no weights); the model "
    "is loaded once per server, in eval mode, with its parameters frozen."
)
limits = ui.cache.limits()
st.caption(
    f"This server keeps at most {limits['max_models']} models loaded (now: "
    f"{', '.join(md(m) for m in limits['models']) or 'none'}); loading another evicts the least recently used "
    "one that no analysis is running on. "
    f"Results shared by all sessions use {limits['cache_used_mb']:.0f} of {limits['cache_mb']:.0f} MB "
    "(GLIMPSE_MAX_MODELS and GLIMPSE_CACHE_MB set these)."
)
st.subheader("Load your own model")
st.markdown(
    """
Any Hugging Face BERT-family checkpoint works: BERT, DistilBERT, RoBERTa, ELECTRA, ALBERT, DeBERTa-v2.

1. Save it to a folder once: `model.save_pretrained("my-model")` and `tokenizer.save_pretrained("my-model")`.
2. Open **Model** in the sidebar, type the folder's absolute path, and press **Load model**.

A hub id (`org/name`) works when the machine is online or the model is in the local cache
(set `HF_HUB_OFFLINE=1` to use the cache without network). Servers can restrict what users may load
with `GLIMPSE_MODEL_SOURCES` (e.g. `embedded,hub`) and `GLIMPSE_MODEL_ROOTS`.
"""
)
ui.footer()
