"""The page registry and switching between pages.

Adding a page takes one module in `assistant/ui/pages/` with a `render()` function and one line in
`REGISTRY` (see docs/architecture.md). Page objects are built fresh on every run, from the registry:
Streamlit marks the page it is about to run on the object, so objects are not shared between sessions,
and a page is addressed by its url path, which the registry keeps.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import streamlit as st

from assistant.ui.guard import guarded

PAGES_PACKAGE = "assistant.ui.pages"


@dataclass(frozen=True)
class PageSpec:
    module: str  # module in assistant/ui/pages/ with a `render()` function
    title: str
    icon: str
    url_path: str
    default: bool = False


REGISTRY: tuple[PageSpec, ...] = (
    PageSpec("chat", "Chat", ":material/forum:", "chat", default=True),
    PageSpec("roadmap", "Roadmap", ":material/timeline:", "roadmap"),
    PageSpec("criteria", "Kriterien", ":material/checklist:", "kriterien"),
    PageSpec("good_practices", "Good Practices", ":material/lightbulb:", "good-practices"),
    PageSpec("onboarding", "Einarbeitung", ":material/school:", "einarbeitung"),
    PageSpec("project_check", "Projekt-Check", ":material/fact_check:", "projekt-check"),
)


def spec(module: str) -> PageSpec:
    return next(s for s in REGISTRY if s.module == module)


def page(module: str) -> st.Page:
    """The Streamlit page for a registry entry; its `render` runs inside `guarded`."""
    entry = spec(module)
    render = importlib.import_module(f"{PAGES_PACKAGE}.{entry.module}").render
    return st.Page(guarded(render), title=entry.title, icon=entry.icon, url_path=entry.url_path, default=entry.default)


def pages() -> list[st.Page]:
    return [page(entry.module) for entry in REGISTRY]


def switch_to(module: str) -> None:
    st.switch_page(page(module))


def ask_in_chat(question: str) -> None:
    """Prefill the chat input with a question and open the chat."""
    st.session_state["chat_prompt"] = question
    st.session_state["prefilled"] = True
    switch_to("chat")


def open_criterion(criterion_id: str) -> None:
    st.session_state["criterion_pick"] = criterion_id
    switch_to("criteria")
