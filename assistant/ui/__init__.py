"""The Streamlit layer of Roadmap-Lotse. It only renders: every decision lives in `assistant/`
and is tested without Streamlit. Streamlit is imported here and in `app.py`, nowhere else.

- `resources.py`  settings, the one service (model + index), feedback store, cached status; session defaults
- `guard.py`      how a page shows a failure: the repair command, or a short note, never a traceback
- `widgets.py`    rendering pieces shared by several pages (criterion entries, cards, passages, status)
- `navigation.py` the page registry (one line per page) and switching between pages
- `pages/`        one module per page, each with a `render()` function

`app.py` sets up the page, the session and then only routes (see docs/architecture.md).
"""
