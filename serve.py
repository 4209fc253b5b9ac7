"""Glimpse's server entry: the Streamlit app (``app.py``) with security headers and a warm-up at start.

Run with ``streamlit run serve.py`` (``scripts/run.sh`` does); ``streamlit run app.py`` also works,
without the headers and the warm-up.
"""

import streamlit as st
from starlette.middleware import Middleware

from ui.server import SecurityHeaders, lifespan

app = st.App("app.py", lifespan=lifespan, middleware=[Middleware(SecurityHeaders)])
