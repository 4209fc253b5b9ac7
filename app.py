"""Glimpse: the frame. Page config, the shared sidebar (model and text), and navigation."""

import streamlit as st

import ui
import ui.cache
from ui.sidebar import sidebar

st.set_page_config(page_title="Glimpse — attention and attributions for BERT models", page_icon="🔎", layout="wide")
ui.start_timer()
# Every model this run uses stays loaded until the run ends: another session's load never evicts it mid-analysis.
with ui.cache.models().pinning():
    page = st.navigation(
        [
            st.Page("app_pages/attention.py", title="Attention", icon="🔎", default=True),
            st.Page("app_pages/attribution.py", title="Attribution", icon="🎯"),
            st.Page("app_pages/diagnose.py", title="Diagnose", icon="🩺"),
            st.Page("app_pages/compare.py", title="Compare", icon="⚖️"),
            st.Page("app_pages/corpus.py", title="Corpus", icon="📚"),
            st.Page("app_pages/model.py", title="Model", icon="🧩"),
        ]
    )
    sidebar(page.url_path)  # a link's text_b means another thing on Compare
    page.run()
