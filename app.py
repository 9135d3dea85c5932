"""Roadmap-Lotse – the entry point of the Streamlit app. It sets up the page and the session and
then only routes: the pages are modules in `assistant/ui/pages/`, listed in
`assistant/ui/navigation.py`; every decision lives in `assistant/` and is tested without Streamlit.

Start with `make run` or `.venv/bin/python -m streamlit run app.py`.
"""

from __future__ import annotations

import streamlit as st

from assistant.ui import navigation, resources, widgets

st.set_page_config(page_title="Roadmap-Lotse", page_icon="🧭", layout="wide")
resources.load()  # settings and the cached service; stops with a message if the catalogue is unreadable
resources.init_session()
st.navigation(navigation.pages(), position="top").run()
widgets.status_sidebar()
