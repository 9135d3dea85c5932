"""How a page shows a failure. Known ones (model or index not usable) get their German message
and the repair command to copy; anything else a short note, with the details in the server log.
Never a traceback."""

from __future__ import annotations

import functools
import logging
from typing import Callable

import streamlit as st

from assistant import views
from assistant.errors import AssistantUnavailable

log = logging.getLogger("roadmap_lotse.app")


def show_unavailable(exc: AssistantUnavailable) -> None:
    """The German message, and the repair command (if the failure has one) ready to copy."""
    st.error(views.md_escape(str(exc)), icon=":material/error:")
    if exc.command:
        st.caption("So beheben Sie das im Projektordner:")
        st.code(exc.command, language="bash")


def guarded(render: Callable[[], None]) -> Callable[[], None]:
    """Wrap a page's `render`: known failures get their repair hint, others a short note."""

    @functools.wraps(render)
    def page() -> None:
        try:
            render()
        except AssistantUnavailable as exc:
            show_unavailable(exc)
        except Exception:
            log.exception("page %s failed", render.__module__)
            st.error(
                "Hier ist leider ein unerwarteter Fehler aufgetreten. Bitte laden Sie die Seite neu; "
                "die Einzelheiten stehen im Protokoll des Servers.",
                icon=":material/error:",
            )

    return page
